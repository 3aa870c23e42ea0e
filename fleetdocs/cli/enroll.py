"""`fleetdocs enroll list|approve|reject` (admins) and `fleetdocs agent enroll` (devices)."""

from __future__ import annotations

import typer
from rich.table import Table

from fleetdocs.cli.common import console, home_from, print_json, short
from fleetdocs.cli.fleet import prepare_home_for_ticket
from fleetdocs.cli.runner import run_op
from fleetdocs.identity import parse_public_hex

enroll_app = typer.Typer(help="Review and decide enrollment requests.", no_args_is_help=True)
agent_app = typer.Typer(help="Device-side agent commands.", no_args_is_help=True)


@enroll_app.command("list")
def list_(ctx: typer.Context, all_requests: bool = typer.Option(False, "--all"),
          json_out: bool = typer.Option(False, "--json")) -> None:
    """Pending enrollment requests with the facts each device reported."""
    result = run_op(home_from(ctx), "enroll.list", all_requests=all_requests)
    if json_out:
        print_json(result)
        return
    table = Table("agent", "status", "hostname", "os", "arch", "memory")
    for row in result["requests"]:
        facts = row["facts"]
        table.add_row(row["agent"], row["status"], str(facts.get("hostname")), str(facts.get("os")),
                      str(facts.get("architecture")),
                      f"{int(facts.get('memory_bytes') or 0) / 2**30:.1f} GiB")
    console.print(table)
    for reason in result["refused"]:
        console.print(f"[yellow]refused[/] {reason}", soft_wrap=True)


@enroll_app.command("approve")
def approve(ctx: typer.Context, agent: str, name: str | None = typer.Option(None),
            json_out: bool = typer.Option(False, "--json")) -> None:
    """Approve AGENT (id or unique prefix): an audited action that grants it its scopes."""
    result = run_op(home_from(ctx), "enroll.approve", agent=agent, name=name)
    if json_out:
        print_json(result)
    else:
        console.print(f"approved {short(result['args']['agent'])} as audit entry {result['hash']}")


@enroll_app.command("reject")
def reject(ctx: typer.Context, agent: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Reject AGENT's request (audited); it gets no scopes."""
    result = run_op(home_from(ctx), "enroll.reject", agent=agent)
    if json_out:
        print_json(result)
    else:
        console.print(f"rejected {short(result['args']['agent'])} as audit entry {result['hash']}")


@enroll_app.command("revoke")
def revoke(ctx: typer.Context, agent: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Revoke approved AGENT (full id; audited): coordinators stop serving it."""
    result = run_op(home_from(ctx), "agent.revoke", key=parse_public_hex(agent).hex())
    if json_out:
        print_json(result)
    else:
        console.print(f"revoked {short(result['args']['agent'])} as audit entry {result['hash']}")


@agent_app.command("enroll")
def enroll(
    ctx: typer.Context,
    ticket: str = typer.Argument(..., help="ticket, or @FILE"),
    store_root: str | None = typer.Option(None, help="materialize closures under this root (/)"),
    activate: str | None = typer.Option(None, help="activation command; {path} = generation"),
    health_check: str | None = typer.Option(None, help="health check command; {path} as above"),
    confirm_timeout: float | None = typer.Option(
        None, help="seconds a coordinator must become reachable in after activation (120)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Create this device's key if needed and file a signed enrollment request."""
    home = home_from(ctx)
    text = prepare_home_for_ticket(home, ticket, agent=True)
    settings = {"store_root": store_root, "activate": activate, "health_check": health_check,
                "confirm_timeout": confirm_timeout}
    result = run_op(home, "agent.enroll", ticket=text, settings=settings)
    if json_out:
        print_json(result)
    else:
        console.print(f"enrollment requested for agent {result['agent']}; "
                      "an admin approves it with `fleetdocs enroll approve`")
