"""`fleetdocs meta set|get|unset|show|history|conflicts|resolve` and `fleetdocs tag add|remove`."""

from __future__ import annotations

import datetime
from typing import Any

import typer
from rich.table import Table

from fleetdocs.cli.common import console, err_console, home_from, print_json, short
from fleetdocs.cli.runner import run_op

meta_app = typer.Typer(help="Fleet metadata: names, owners, notes, release notes.",
                       no_args_is_help=True)
tag_app = typer.Typer(help="Tags and groups of agents, labels of artifacts.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="print the result as JSON")
TARGET_HELP = "agent:<id, id prefix or name> or artifact:<hash or hash prefix>"
SET_FIELD_OPTION = typer.Option(
    None, "--field", help="set field to change (default: tags for agents, labels for artifacts)")


def _when(time_us: int) -> str:
    return datetime.datetime.fromtimestamp(time_us / 1e6).isoformat(timespec="seconds")


def _render(value: Any) -> str:
    if value is None:
        return "(not set)"
    return ", ".join(value) if isinstance(value, list) else str(value)


def _edited(result: dict[str, Any], json_out: bool) -> None:
    """Print an edit's outcome; warn when the change did not enter this home's document."""
    if json_out:
        print_json(result)
        return
    what = f"{result['op']} {result['target']} {result['field']}"
    if result["value"] is not None:
        what += f" {result['value']!r}"
    console.print(f"recorded {what} as audit entry {result['entry']}")
    if result["status"] != "accepted":
        err_console.print(f"warning: the change is {result['status']} here (see `meta show`)",
                          markup=False)


@meta_app.command("set")
def set_(ctx: typer.Context, target: str = typer.Argument(..., help=TARGET_HELP),
         field: str = typer.Argument(...), value: str = typer.Argument(...),
         json_out: bool = JSON_OPTION) -> None:
    """Set a field (name, owner, location, notes, release_notes): an audited change."""
    _edited(run_op(home_from(ctx), "meta.set", target=target, field=field, value=value), json_out)


@meta_app.command("unset")
def unset(ctx: typer.Context, target: str = typer.Argument(..., help=TARGET_HELP),
          field: str = typer.Argument(...), json_out: bool = JSON_OPTION) -> None:
    """Remove a field's value: an audited change."""
    _edited(run_op(home_from(ctx), "meta.unset", target=target, field=field), json_out)


@meta_app.command("resolve")
def resolve(ctx: typer.Context, target: str = typer.Argument(..., help=TARGET_HELP),
            field: str = typer.Argument(...), value: str = typer.Argument(...),
            json_out: bool = JSON_OPTION) -> None:
    """Settle a conflicting field on VALUE; refused when the field has no conflict."""
    result = run_op(home_from(ctx), "meta.resolve", target=target, field=field, value=value)
    _edited(result, json_out)


@meta_app.command("get")
def get(ctx: typer.Context, target: str = typer.Argument(..., help=TARGET_HELP),
        field: str = typer.Argument(...), json_out: bool = JSON_OPTION) -> None:
    """One field's value as every peer with the same log shows it, and its conflict if any."""
    result = run_op(home_from(ctx), "meta.get", target=target, field=field)
    if json_out:
        print_json(result)
        return
    console.print(_render(result["value"]), markup=False)
    if result["conflict"] is not None:
        _print_conflict(result["conflict"])


@meta_app.command("show")
def show(ctx: typer.Context,
         target: str | None = typer.Argument(None, help=f"only this target: {TARGET_HELP}"),
         json_out: bool = JSON_OPTION) -> None:
    """Every target's fields, conflicts, and the changes that are not (yet) applied."""
    result = run_op(home_from(ctx), "meta.show", target=target)
    if json_out:
        print_json(result)
        return
    for shown, fields in result["targets"].items():
        console.print(f"[bold]{shown}[/]")
        for field, value in fields.items():
            console.print(f"  {field:<14} {_render(value)}", markup=False)
    for conflict in result["conflicts"]:
        _print_conflict(conflict)
    for heading in ("pending", "rejected", "not_applied"):
        for row in result[heading]:
            console.print(f"{heading.replace('_', ' ')}: entry {short(row['entry'])} by "
                          f"{short(row['author'])} at {_when(row['time_us'])}: {row['reason']}",
                          markup=False)


@meta_app.command("history")
def history(ctx: typer.Context, target: str = typer.Argument(..., help=TARGET_HELP),
            field: str = typer.Argument(...), json_out: bool = JSON_OPTION) -> None:
    """Every write of a field with the audit entry that made it, oldest first."""
    result = run_op(home_from(ctx), "meta.history", target=target, field=field)
    if json_out:
        print_json(result)
        return
    table = Table("time", "action", "value", "author", "entry")
    for row in result["history"]:
        table.add_row(_when(row["time_us"]), row["action"], _render(row["value"]),
                      short(row["author"]), short(row["entry"]))
    console.print(table)


@meta_app.command("conflicts")
def conflicts(ctx: typer.Context, json_out: bool = JSON_OPTION) -> None:
    """Fields that admins set concurrently: every value, who set it and when, winner first."""
    rows = run_op(home_from(ctx), "meta.conflicts")
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("no conflicts")
    for conflict in rows:
        _print_conflict(conflict)


def _print_conflict(conflict: dict[str, Any]) -> None:
    console.print(f"conflict: {conflict['target']} {conflict['field']} "
                  f"(shown everywhere: {conflict['winner']!r})", markup=False)
    for item in conflict["values"]:
        console.print(f"  {item['value']!r} by {short(item['author'])} at {_when(item['time_us'])}"
                      f" in entry {short(item['entry'])}", markup=False)


@tag_app.command("add")
def tag_add(ctx: typer.Context, target: str = typer.Argument(..., help=TARGET_HELP),
            tag: str = typer.Argument(...), field: str | None = SET_FIELD_OPTION,
            json_out: bool = JSON_OPTION) -> None:
    """Add TAG (concurrent additions by several admins all survive): an audited change."""
    _edited(run_op(home_from(ctx), "tag.add", target=target, tag=tag, field=field), json_out)


@tag_app.command("remove")
def tag_remove(ctx: typer.Context, target: str = typer.Argument(..., help=TARGET_HELP),
               tag: str = typer.Argument(...), field: str | None = SET_FIELD_OPTION,
               json_out: bool = JSON_OPTION) -> None:
    """Remove TAG (a concurrent addition of the same tag wins): an audited change."""
    _edited(run_op(home_from(ctx), "tag.remove", target=target, tag=tag, field=field), json_out)
