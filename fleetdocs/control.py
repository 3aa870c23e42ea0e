"""The owner-only local control socket between the CLI and a running daemon of the same home.

A node costs ~3 s to start and a home's store may be open in one process only, so while
`fleetdocs run` holds a home, CLI commands send it their request instead of opening the
home. Protocol: one JSON object per line each way, `{"op": name, "args": {...}}` answered
by `{"ok": result}` or `{"error": message, "code": exit_code}`. The socket lives in the
0700 home directory and is itself 0600: only the home's owner can connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fleetdocs.canonical import decode_json
from fleetdocs.errors import FleetdocsError

Handler = Callable[[str, dict[str, Any]], Awaitable[Any]]
MAX_REQUEST = 16 * 1024 * 1024


class RemoteError(FleetdocsError):
    """An error the daemon reported for a request; carries the daemon's exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


async def serve(path: Path, handler: Handler) -> asyncio.Server:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            request = decode_json(line)
            op, args = request["op"], request.get("args", {})
            try:
                reply: dict[str, Any] = {"ok": await handler(op, args)}
            except FleetdocsError as exc:
                reply = {"error": str(exc), "code": exc.exit_code}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (ValueError, KeyError, ConnectionError):
            pass
        finally:
            writer.close()

    old_umask = os.umask(0o177)
    try:
        server = await asyncio.start_unix_server(on_client, path=str(path), limit=MAX_REQUEST)
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    return server


def daemon_running(path: Path) -> bool:
    return path.exists()


async def call(path: Path, op: str, args: dict[str, Any], timeout: float | None = None) -> Any:
    """Send one request; raises ConnectionError when no daemon listens (a stale socket)."""
    reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_REQUEST)
    try:
        writer.write(json.dumps({"op": op, "args": args}).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
    if not line:
        raise ConnectionError("the daemon closed the connection")
    reply = json.loads(line)
    if "error" in reply:
        raise RemoteError(reply["error"], int(reply.get("code", 1)))
    return reply["ok"]
