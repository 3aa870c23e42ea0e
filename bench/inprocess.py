"""In-process fleets for benchmarks: homes whose sessions share one event loop.

Nothing drives these sessions but the benchmark, so `until` plays the daemon's part: it
re-checks a condition whenever the session's node reports a replica event, and runs an
anti-entropy round when none came for one sync interval, as `fleetdocs run` does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.results import BenchError
from fleetdocs.artifacts.closure import stage_path
from fleetdocs.daemon import DEBOUNCE
from fleetdocs.ledger import Ledger
from fleetdocs.net.node import ReplicaEvent
from fleetdocs.roles.agent import AgentRole
from fleetdocs.roles.coordinator import CoordinatorRole
from fleetdocs.scopes import DESIRED
from fleetdocs.session import Session, sync_interval
from tests.fleet.sessions import Homes


async def until(session: Session, check: Callable[[], Awaitable[bool]], timeout: float,
                what: str) -> float:
    """Wait until `check()` holds on `session`; returns that moment (perf_counter)."""
    deadline = time.perf_counter() + timeout
    with session.node.events.listen() as events:
        while not await check():
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
            try:
                await asyncio.wait_for(events.get(), min(remaining, sync_interval()))
            except TimeoutError:
                await session.anti_entropy()
                continue
            await asyncio.sleep(DEBOUNCE)  # a sync delivers entries in bursts: check once per burst
            drain(events)
    return time.perf_counter()


def drain(events: asyncio.Queue[ReplicaEvent]) -> None:
    """Forget queued events, so the next wait starts from what happens next."""
    while not events.empty():
        events.get_nowait()


async def in_log(session: Session, entry_hash: str) -> bool:
    """Whether `entry_hash` is a valid entry of the session's verified audit log."""
    log = (await Ledger(session).read()).log
    return entry_hash in log and log.verdict(entry_hash).is_valid


async def coordinator_fleet(h: Homes) -> None:
    """Admin A and coordinator C1, joined and synced."""
    for name in ("A", "C1"):
        await h.open(name)
    await h.op("A", "fleet.create", name="bench")
    invite = await h.op("A", "invite", role="coordinator", key=h["C1"].identity.public_hex)
    await h.op("C1", "join", ticket=invite["ticket"])


async def enroll_agent(h: Homes, name: str, coordinator: CoordinatorRole) -> str:
    """Open, enroll and approve agent `name` until it holds its desired scope; its id."""
    invite = await h.op("A", "invite", role="agent")
    await h.open(name)
    await h.op(name, "agent.enroll", ticket=invite["ticket"])
    agent = h[name].identity.public_hex
    await until(h["A"], lambda: _requested(h, agent), 30, f"{name}'s enrollment request")
    await h.op("A", "enroll.approve", agent=agent)

    async def granted() -> bool:
        await coordinator.reconcile(h["C1"])
        await AgentRole(h[name]).reconcile(h[name])
        return DESIRED in h[name].config.scopes

    await until(h[name], granted, 30, f"{name} to hold its desired scope")
    return agent


async def _requested(h: Homes, agent: str) -> bool:
    listed = await h.op("A", "enroll.list")
    return any(request["agent"] == agent for request in listed["requests"])


async def add_file_artifact(h: Homes, home: str, path: Path) -> str:
    """Stage `path` and add it through the `artifact.add` operation, as the CLI does."""
    staged = stage_path(path, h.root / "staging")
    result = await h.op(home, "artifact.add", manifest=staged.manifest_bytes.decode(),
                        blobs={blob: str(file) for blob, file in staged.blobs.items()})
    return str(result["artifact"])
