"""What every command group shares: the home option, output helpers, error rendering."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from fleetdocs.home import Home, default_home

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False)


def home_from(ctx: typer.Context) -> Home:
    path = ctx.obj.get("home") if ctx.obj else None
    return Home(Path(path) if path else default_home())


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, sort_keys=True) + "\n")


def print_json_lines(items: list[Any]) -> None:
    for item in items:
        print_json(item)


def short(hex_id: str | None, width: int = 12) -> str:
    return "-" if not hex_id else hex_id[:width] + "…"
