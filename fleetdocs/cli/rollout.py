"""`fleetdocs assign`, `fleetdocs rollback`, `fleetdocs status`."""

from __future__ import annotations

from pathlib import Path

import typer

from fleetdocs.cli.common import console, home_from, print_json
from fleetdocs.cli.runner import run_op
from fleetdocs.demo import run_demo
from fleetdocs.errors import UsageError
from fleetdocs.tui.live import watch_home
from fleetdocs.tui.status_view import render_status


def assign(
    ctx: typer.Context,
    artifact: str = typer.Argument(..., help="artifact id or unique prefix"),
    agent: list[str] = typer.Option([], "--agent", help="agent id, prefix or name (repeatable)"),
    tag: list[str] = typer.Option([], "--tag", help="every approved agent with this tag"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Assign ARTIFACT to agents: an audited action naming the agents it resolved to."""
    result = run_op(home_from(ctx), "assign", artifact=artifact, agents=agent, tags=tag)
    if json_out:
        print_json(result)
    else:
        console.print(f"assigned {result['args']['artifact'][:12]}… to "
                      f"{len(result['args']['agents'])} agents as audit entry {result['hash']}")


def rollback(ctx: typer.Context, agent: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Pin AGENT to its previous generation (an audited action)."""
    result = run_op(home_from(ctx), "rollback", agent=agent)
    if json_out:
        print_json(result)
    else:
        console.print(f"rolled {result['args']['agent'][:12]}… back to "
                      f"{result['args']['artifact'][:12]}… as audit entry {result['hash']}")


def status(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json"),
    watch: bool = typer.Option(False, "--watch", help="redraw live as events arrive"),
) -> None:
    """The fleet as this home sees it: agents, rollouts, enrollments, conflicts, audit."""
    home = home_from(ctx)
    if watch:
        if json_out:
            raise UsageError("--watch and --json do not go together")
        watch_home(home.path)
        return
    result = run_op(home, "status")
    if json_out:
        print_json(result)
    else:
        console.print(render_status(result))


def demo(
    directory: Path | None = typer.Option(None, "--dir", help="keep homes and logs here"),
    agents: int = typer.Option(3, min=1, max=20, help="number of agents"),
    watch: bool = typer.Option(True, help="open the live status view once rolled out"),
) -> None:
    """Run a complete local fleet (2 coordinators, 1 admin, agents) until Ctrl-C."""
    run_demo(directory, agents, watch, console)
