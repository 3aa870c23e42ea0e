"""In-process fleets: several homes' sessions (each a real iroh node) in one event loop.

Faster than processes for tests of rules (who may write what), where the process model
itself is not under test; operations run exactly as the CLI or daemon would run them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fleetdocs.roles  # noqa: F401  (registers operations)
from fleetdocs.home import Home
from fleetdocs.net.node import Replica
from fleetdocs.ops import dispatch
from fleetdocs.session import Session, open_session


class Homes:
    def __init__(self, root: Path, stack: contextlib.AsyncExitStack) -> None:
        self.root = root
        self.stack = stack
        self.sessions: dict[str, Session] = {}

    async def open(self, name: str) -> Session:
        session = await self.stack.enter_async_context(
            open_session(Home(self.root / name), create_key=True))
        self.sessions[name] = session
        return session

    def __getitem__(self, name: str) -> Session:
        return self.sessions[name]

    async def op(self, home: str, op: str, **args: Any) -> Any:
        return await dispatch(self.sessions[home], op, args)


@contextlib.asynccontextmanager
async def homes(root: Path) -> AsyncIterator[Homes]:
    async with contextlib.AsyncExitStack() as stack:
        yield Homes(root, stack)


async def small_fleet(h: Homes) -> None:
    """Admin A (fleet creator), admin B, coordinators C1 and C2, all synced."""
    for name in ("A", "B", "C1", "C2"):
        await h.open(name)
    await h.op("A", "fleet.create", name="rules")
    for name, role in (("B", "admin"), ("C1", "coordinator"), ("C2", "coordinator")):
        invite = await h.op("A", "invite", role=role, key=h[name].identity.public_hex)
        await h.op(name, "join", ticket=invite["ticket"])


async def enrolled(h: Homes, name: str) -> Session:
    """A new home `name` that filed an enrollment request with an invitation from A."""
    invite = await h.op("A", "invite", role="agent")
    session = await h.open(name)
    await h.op(name, "agent.enroll", ticket=invite["ticket"])
    return session


async def sync_once(session: Session, replica: Replica, peer: Session, timeout: float = 10) -> None:
    """One finished sync of `session`'s `replica` with `peer`, started by `session`."""
    with session.node.events.listen() as events:
        await replica.sync([await peer.node.addr()])
        async with asyncio.timeout(timeout):
            while True:
                event = await events.get()
                if event.kind == "sync_finished" and event.peer == peer.identity.public_hex:
                    return
