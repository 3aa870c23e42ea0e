"""Fleet life cycle commands: create, invite, join, run, sync, peers."""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
from pathlib import Path

import typer
from rich.table import Table

from fleetdocs.cli.common import console, home_from, print_json, short
from fleetdocs.cli.runner import run_op
from fleetdocs.daemon import run_daemon
from fleetdocs.errors import HomeError, UsageError, with_article
from fleetdocs.home import ROLE_ENV, Home
from fleetdocs.roles.fleet import admit_ticket, require_fresh

fleet_app = typer.Typer(help="Create a fleet.", no_args_is_help=True)


@fleet_app.command("create")
def create(ctx: typer.Context, name: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Create a new fleet with this home as its first admin."""
    home = home_from(ctx)
    if home.path.exists():
        home.check_permissions()
    require_fresh(home.load_config())
    home.identity(create=True)
    result = run_op(home, "fleet.create", name=name)
    if json_out:
        print_json(result)
    else:
        console.print(f"created fleet [bold]{name}[/] {result['fleet']}")


def invite(
    ctx: typer.Context,
    role: str = typer.Argument(..., help="admin, coordinator or agent"),
    key: str | None = typer.Option(None, "--key", help="also record this id as admin/coordinator"),
    name: str | None = typer.Option(None, "--name", help="coordinator name (with --key)"),
    out: Path | None = typer.Option(None, "--out", help="write the ticket to this file (0600)"),
) -> None:
    """Print a ticket that lets a home join the fleet as ROLE (it is a secret: handle with care)."""
    result = run_op(home_from(ctx), "invite", role=role, key=key, name=name)
    if out is not None:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(result["ticket"] + "\n")
        console.print(f"{role} ticket written to {out}")
    else:
        print(result["ticket"])


def join(ctx: typer.Context, ticket: str = typer.Argument(..., help="ticket, or @FILE"),
         json_out: bool = typer.Option(False, "--json")) -> None:
    """Make this fresh home an admin or coordinator of the ticket's fleet."""
    home = home_from(ctx)
    text = prepare_home_for_ticket(home, ticket, agent=False)
    result = run_op(home, "join", ticket=text)
    if json_out:
        print_json(result)
    else:
        console.print(f"joined fleet {result['name']} as {result['role']}; this home's id: "
                      f"{result['id']} (synced with {len(result['synced_with'])} peers)")


def prepare_home_for_ticket(home: Home, ticket: str, *, agent: bool) -> str:
    """Read and check a ticket before anything in the home is created or opened."""
    text = read_ticket(ticket)
    if home.path.exists():
        home.check_permissions()
    admit_ticket(home.load_config(), text, agent=agent)
    home.identity(create=True)
    return text


def read_ticket(value: str) -> str:
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text().strip()
        except OSError as exc:
            raise UsageError(f"cannot read ticket file {value[1:]}: {exc.strerror}") from None
    return value


def run(ctx: typer.Context, verbose: bool = typer.Option(False, "-v", "--verbose")) -> None:
    """Run this home's role as a daemon until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    home = home_from(ctx)
    role = home.load_config().require_role()
    expected = os.environ.get(ROLE_ENV)
    if expected and expected != role:
        raise HomeError(f"{ROLE_ENV}={expected} (the service's role), but {home.path} is "
                        f"{with_article(role)} home")
    asyncio.run(run_daemon(home))


def sync(ctx: typer.Context, timeout: float = typer.Option(10.0, help="seconds to wait"),
         json_out: bool = typer.Option(False, "--json")) -> None:
    """Sync once with every known peer and report what converged."""
    result = run_op(home_from(ctx), "sync", timeout=timeout)
    if json_out:
        print_json(result)
        return
    console.print(f"synced with {len(result['synced_with'])} of {result['peers_total']} peers")
    for scope, counts in sorted(result["scopes"].items()):
        console.print(f"  {scope:<24} {counts['entries']:>6} entries ({counts['new']:+d})")


def peers(ctx: typer.Context, json_out: bool = typer.Option(False, "--json")) -> None:
    """List known peers and when each last completed a sync with this home."""
    rows = run_op(home_from(ctx), "peers")
    if json_out:
        print_json(rows)
        return
    table = Table("id", "role", "addresses", "last contact")
    for row in rows:
        seen = row["last_contact"]
        when = datetime.datetime.fromtimestamp(seen).isoformat(timespec="seconds") if seen else "never"
        table.add_row(short(row["id"]), row["role"] or "-", " ".join(row["addrs"]), when)
    console.print(table)
