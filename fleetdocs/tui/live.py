"""The live status view: redraw whenever the home's daemon reports a change."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from rich.console import Console
from rich.live import Live

from fleetdocs import control
from fleetdocs.errors import UsageError
from fleetdocs.home import Home
from fleetdocs.tui.status_view import render_status


def watch_home(path: Path) -> None:
    """Show the live status view of the home at `path` until Ctrl-C."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_watch(Home(path)))


async def _watch(home: Home) -> None:
    """Redraw whenever the daemon reports a change (long-poll; no busy polling)."""
    if not home.socket_path.exists():
        raise UsageError("status --watch needs this home's daemon: start `fleetdocs run`")
    first = await control.call(home.socket_path, "status.watch", {"since": -1})
    changes = first["changes"]
    live = Live(render_status(first["status"]), console=Console(), auto_refresh=False)
    with live, contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        while True:
            reply = await control.call(home.socket_path, "status.watch", {"since": changes})
            changes = reply["changes"]
            live.update(render_status(reply["status"]), refresh=True)

