"""Roster commands: `admin add|remove|list`, `coordinator add`."""

from __future__ import annotations

import typer

from fleetdocs.cli.common import console, home_from, print_json
from fleetdocs.cli.runner import run_op
from fleetdocs.identity import parse_public_hex

admin_app = typer.Typer(help="Manage the fleet's admins.", no_args_is_help=True)
coordinator_app = typer.Typer(help="Manage the fleet's coordinators.", no_args_is_help=True)


def _done(result: dict[str, object], json_out: bool) -> None:
    if json_out:
        print_json(result)
    else:
        console.print(f"recorded {result['action']} as audit entry {result['hash']}")


@admin_app.command("add")
def add(ctx: typer.Context, key: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Make KEY an admin (an audited action)."""
    _done(run_op(home_from(ctx), "admin.add", key=parse_public_hex(key).hex()), json_out)


@admin_app.command("remove")
def remove(ctx: typer.Context, key: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Remove admin KEY; its actions not seen by this removal become invalid."""
    _done(run_op(home_from(ctx), "admin.remove", key=parse_public_hex(key).hex()), json_out)


@admin_app.command("list")
def list_(ctx: typer.Context, json_out: bool = typer.Option(False, "--json")) -> None:
    """The current roster as computed from the verified log."""
    result = run_op(home_from(ctx), "admin.list")
    if json_out:
        print_json(result)
        return
    for admin in result["admins"]:
        console.print(f"admin        {admin}")
    for key, name in sorted(result["coordinators"].items()):
        console.print(f"coordinator  {key}  {name}")


@coordinator_app.command("add")
def coordinator_add(ctx: typer.Context, key: str, name: str | None = typer.Option(None),
                    json_out: bool = typer.Option(False, "--json")) -> None:
    """Record KEY as a coordinator (its witness checkpoints count)."""
    _done(run_op(home_from(ctx), "coordinator.add", key=parse_public_hex(key).hex(), name=name),
          json_out)


@coordinator_app.command("remove")
def coordinator_remove(ctx: typer.Context, key: str,
                       json_out: bool = typer.Option(False, "--json")) -> None:
    """Remove coordinator KEY (its later witness checkpoints no longer count)."""
    _done(run_op(home_from(ctx), "coordinator.remove", key=parse_public_hex(key).hex()), json_out)
