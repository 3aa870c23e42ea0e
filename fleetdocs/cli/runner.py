"""Carry out an operation for the CLI: through the home's daemon if one runs, else directly."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fleetdocs import control
from fleetdocs.home import Home
from fleetdocs.ops import REGISTRY, dispatch
from fleetdocs.session import open_session

PUSH_TIMEOUT = 3.0


def run_op(home: Home, op: str, **args: Any) -> Any:
    return asyncio.run(_run(home, op, args))


async def _run(home: Home, name: str, args: dict[str, Any]) -> Any:
    import fleetdocs.roles  # noqa: F401  (registers every operation)

    if home.socket_path.exists():
        with contextlib.suppress(ConnectionError, FileNotFoundError):
            return await control.call(home.socket_path, name, args)
    home.check_permissions()
    roles = REGISTRY[name].roles
    if roles:  # refuse before the store is opened, so a refused command changes nothing
        home.load_config().require_role(*roles)
    async with open_session(home) as session:
        result = await dispatch(session, name, args)
        if REGISTRY[name].writes and session.book.peers:
            # No daemon will push this change later: offer it to reachable peers now.
            await session.sync_and_wait(PUSH_TIMEOUT)
        return result
