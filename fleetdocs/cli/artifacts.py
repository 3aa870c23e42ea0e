"""`fleetdocs artifact add|list|show|gc`.

`add` stages the artifact in this process, where it can draw a progress bar, and passes the
staged files to the `artifact.add` operation, which may run in the home's daemon. Staging is
pure (NAR writing and hashing into the home's staging directory) and needs no iroh node.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from fleetdocs.artifacts.closure import stage_path
from fleetdocs.artifacts.progress import ProgressCallback
from fleetdocs.cli.common import console, home_from, print_json, short
from fleetdocs.cli.runner import run_op
from fleetdocs.roles.artifacts import parse_meta_options, staging_dir

artifact_app = typer.Typer(help="Content-addressed artifacts: add, list, show, collect.",
                           no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="print the result as JSON")


@contextmanager
def byte_progress(description: str, quiet: bool) -> Iterator[ProgressCallback]:
    """A rich bar with bytes, throughput and ETA; silent when quiet or not on a terminal."""
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                        disable=quiet or not console.is_terminal, transient=False)
    task = progress.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    with progress:
        yield update


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@artifact_app.command("add")
def add(ctx: typer.Context, path: Path = typer.Argument(..., help="file, directory or store path"),
        name: str | None = typer.Option(None, "--name", help="artifact name (default: from PATH)"),
        meta: list[str] = typer.Option([], "--meta", help="FIELD=VALUE fleet metadata "
                                       "(release_notes, labels); repeatable"),
        json_out: bool = JSON_OPTION) -> None:
    """Publish PATH as an artifact: a store path as its whole closure, else a dir or a file."""
    home = home_from(ctx)
    home.load_config().require_role("admin")
    parse_meta_options(meta)
    staging = staging_dir(home)
    staging.mkdir(mode=0o700, parents=True, exist_ok=True)
    with byte_progress(f"staging {path.name}", json_out) as update:
        staged = stage_path(path, staging, name=name, progress=update)
    result = run_op(home, "artifact.add", manifest=staged.manifest_bytes.decode(),
                    blobs={blob: str(file.absolute()) for blob, file in staged.blobs.items()},
                    meta=meta)
    if json_out:
        print_json(result)
        return
    verb = "already known" if result["already_known"] else "added"
    console.print(f"{verb} {result['kind']} [bold]{result['name']}[/] {result['artifact']} "
                  f"({_size(result['size'])}, {result['blobs']} blob(s))")
    for change in result["meta"]:
        console.print(f"recorded {change['field']} = {change['value']!r} as audit entry "
                      f"{change['entry']}", markup=False)


@artifact_app.command("list")
def list_(ctx: typer.Context, json_out: bool = JSON_OPTION) -> None:
    """Every artifact of the fleet and whether its blobs are stored here."""
    rows: list[dict[str, Any]] = run_op(home_from(ctx), "artifact.list")
    if json_out:
        print_json(rows)
        return
    table = Table("artifact", "kind", "name", "size", "here", "assigned")
    for row in rows:
        table.add_row(short(row["artifact"], 16), row["kind"], row["name"], _size(row["size"]),
                      _local(row), str(len(row["assigned_to"])))
    console.print(table)


def _local(row: dict[str, Any]) -> str:
    if row["blobs_total"] is None:
        return str(row["local"])
    return f"{row['local']} ({row['blobs_present']}/{row['blobs_total']})"


@artifact_app.command("show")
def show(ctx: typer.Context, artifact: str = typer.Argument(..., help="id or id prefix"),
         json_out: bool = JSON_OPTION) -> None:
    """One artifact: its record, its blobs here, its store paths and who is assigned it."""
    result: dict[str, Any] = run_op(home_from(ctx), "artifact.show", artifact=artifact)
    if json_out:
        print_json(result)
        return
    console.print(f"[bold]{result['name']}[/] ({result['kind']}, {_size(result['size'])})")
    console.print(f"id        {result['artifact']}")
    console.print(f"added by  {result['added_by']}")
    console.print(f"here      {_local(result)}")
    for agent in result["assigned_to"]:
        console.print(f"assigned  {agent}")
    for entry in result.get("paths", []):
        mark = "✓" if entry["present"] else "·"
        console.print(f"  {mark} {entry['path']}  {_size(entry['nar_size'])}", markup=False)


@artifact_app.command("gc")
def gc(ctx: typer.Context,
       dry_run: bool = typer.Option(False, "--dry-run", help="report only, delete nothing"),
       retention: float | None = typer.Option(
           None, "--retention", help="days an unused artifact is kept (default: 30)"),
       json_out: bool = JSON_OPTION) -> None:
    """Delete blobs no agent runs, is assigned or could roll back to, after the retention."""
    result: dict[str, Any] = run_op(home_from(ctx), "artifact.gc", dry_run=dry_run,
                                    retention=retention)
    if json_out:
        print_json(result)
        return
    for kept in result["kept"]:
        console.print(f"keep     {short(kept['artifact'], 16)} {kept['name']}: "
                      f"{'; '.join(kept['reasons'])}", markup=False)
    for collected in result["collected"]:
        console.print(f"collect  {short(collected['artifact'], 16)} {collected['name']}",
                      markup=False)
    for artifact in result["missing"]:
        console.print(f"missing  {short(artifact, 16)} (needed by an agent, not stored here)")
    for agent in result["agents_without_report"]:
        console.print(f"note: no report readable for agent {short(agent)}: every artifact "
                      "ever assigned to it is kept")
    verb = "would free" if result["dry_run"] else "freed"
    count = result["blobs_collectable"] if result["dry_run"] else result["blobs_deleted"]
    console.print(f"{verb} {_size(result['bytes'])} in {count} blob(s) "
                  f"(retention {result['retention_days']:g} days)")


@artifact_app.command("replicate")
def replicate(ctx: typer.Context, json_out: bool = JSON_OPTION) -> None:
    """Fetch every artifact of the fleet this home lacks, from any peer that has it."""
    result: dict[str, str] = run_op(home_from(ctx), "artifact.replicate")
    if json_out:
        print_json(result)
        return
    for artifact, outcome in result.items():
        console.print(f"{short(artifact, 16)}  {outcome}", markup=False)
