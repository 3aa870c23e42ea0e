"""`fleetdocs audit log|verify|export`."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from fleetdocs.cli.common import console, home_from, print_json, print_json_lines, short
from fleetdocs.cli.runner import run_op
from fleetdocs.roles.admin import verify_export

audit_app = typer.Typer(help="Read and verify the audit log.", no_args_is_help=True)


@audit_app.command("log")
def log(ctx: typer.Context, json_out: bool = typer.Option(False, "--json")) -> None:
    """Every audit entry, in causal order, with its verification status."""
    rows = run_op(home_from(ctx), "audit.log")
    if json_out:
        print_json_lines(rows)
        return
    table = Table("time", "author", "seq", "action", "arguments", "status")
    for row in rows:
        when = datetime.datetime.fromtimestamp(row["time_us"] / 1e6).isoformat(timespec="seconds")
        args = " ".join(f"{k}={_brief(v)}" for k, v in sorted(row["args"].items()))
        status = row["status"] + (f": {row['reason']}" if row["reason"] else "")
        table.add_row(when, short(row["author"]), str(row["seq"]), row["action"], args, status)
    console.print(table)


def _brief(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_brief(v) for v in value)
    text = str(value)
    return short(text) if len(text) >= 40 else text


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    file: Path | None = typer.Option(None, "--file", help="verify an export file offline"),
    fleet: str | None = typer.Option(None, "--fleet", help="fleet id (with --file)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Exit 0 only when every entry verifies; print each problem with its evidence."""
    if file is not None:
        if not fleet:
            raise typer.BadParameter("--file needs --fleet ID")
        report = verify_export(str(file), fleet)
    else:
        report = run_op(home_from(ctx), "audit.verify")
    if json_out:
        print_json(report)
    else:
        _print_report(report)
    if not report["ok"]:
        raise typer.Exit(1)


def _print_report(report: dict[str, Any]) -> None:
    for problem in report["problems"]:
        console.print(f"[red]{problem['kind']}[/]: {problem['message']}", soft_wrap=True)
        for name, value in problem.get("evidence", {}).items():
            console.print(f"    {name}: {str(value)[:200]}", markup=False, soft_wrap=True)
    for entry, reason in report["invalid"].items():
        console.print(f"[red]invalid[/] {short(entry)}: {reason}", soft_wrap=True)
    for entry, reason in report["pending"].items():
        console.print(f"[yellow]pending[/] {short(entry)}: {reason}", soft_wrap=True)
    verdict = "[green]verified[/]" if report["ok"] else "[red]NOT verified[/]"
    console.print(f"{verdict}: {report['entries']} entries, {len(report['invalid'])} invalid, "
                  f"{len(report['pending'])} pending, {len(report['problems'])} problems")


@audit_app.command("export")
def export(ctx: typer.Context, file: Path) -> None:
    """Write a self-contained export, verifiable offline with only the fleet id."""
    result = run_op(home_from(ctx), "audit.export", path=str(file.resolve()))
    console.print(f"exported {result['entries']} entries and {result['checkpoints']} checkpoints "
                  f"to {file}")
