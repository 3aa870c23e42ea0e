"""`fleetdocs assign`, `fleetdocs rollback`, `fleetdocs status`."""

from __future__ import annotations

import asyncio
import contextlib

import typer
from rich.live import Live

from fleetdocs import control
from fleetdocs.cli.common import console, home_from, print_json
from fleetdocs.cli.runner import run_op
from fleetdocs.errors import UsageError
from fleetdocs.home import Home
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
        asyncio.run(_watch(home))
        return
    result = run_op(home, "status")
    if json_out:
        print_json(result)
    else:
        console.print(render_status(result))


async def _watch(home: Home) -> None:
    """Redraw whenever the daemon reports a change (long-poll; no busy polling)."""
    if not home.socket_path.exists():
        raise UsageError("status --watch needs this home's daemon: start `fleetdocs run`")
    changes = 0
    first = await control.call(home.socket_path, "status.watch", {"since": -1})
    live = Live(render_status(first["status"]), console=console, auto_refresh=False)
    with live, contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        while True:
            reply = await control.call(home.socket_path, "status.watch", {"since": changes})
            changes = reply["changes"]
            live.update(render_status(reply["status"]), refresh=True)
