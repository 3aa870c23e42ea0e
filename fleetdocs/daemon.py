"""`fleetdocs run`: the long-lived process of a home, whatever its role.

It holds the home (lock + iroh node), answers CLI requests on the control socket, runs
anti-entropy with every known peer (live gossip is lossy and replicas are not live after a
restart until synced with real addresses), and calls its role's `reconcile` whenever a
replica changes — debounced, because a sync delivers entries in bursts — and periodically,
so that a lost event only delays work by one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Protocol

from fleetdocs import control
from fleetdocs.home import Home
from fleetdocs.net.node import ReplicaEvent
from fleetdocs.ops import dispatch
from fleetdocs.session import Session, open_session, sync_interval

log = logging.getLogger(__name__)

DEBOUNCE = 0.05
STOP_GRACE = 5.0
# iroh-docs fetches an entry's content right after the entry; only what it has not fetched
# by then is ours to repair.
CONTENT_GRACE = 1.0


class Role(Protocol):
    # Scopes whose changes call for a reconcile now; others wait for the next interval.
    watched: tuple[str, ...]

    async def reconcile(self, session: Session) -> None: ...


async def run_daemon(home: Home) -> None:
    from fleetdocs.roles import role_for_session

    async with open_session(home) as session:
        role = role_for_session(session)
        wake = asyncio.Event()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

        async def handle(op: str, args: dict[str, object]) -> object:
            result = await dispatch(session, op, args)
            wake.set()  # an operation may have written: let the role react now
            return result

        server = await control.serve(home.socket_path, handle)
        awaited = AwaitedContent()
        tasks = [
            asyncio.create_task(_anti_entropy(session, wake)),
            asyncio.create_task(repair_content(session, wake, awaited)),
            asyncio.create_task(pump_events(session, role, wake, awaited)),
            asyncio.create_task(_reconcile_loop(session, role, wake)),
        ]
        log.info("%s %s running", session.role, session.identity.public_hex[:12])
        try:
            await stop.wait()
        finally:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                home.socket_path.unlink()
            for task in tasks:
                task.cancel()
            # A task blocked in an iroh call may not see its cancellation promptly: do not
            # let it hold up the shutdown of the node.
            await asyncio.wait(tasks, timeout=STOP_GRACE)
            session.book.save()


async def _anti_entropy(session: Session, wake: asyncio.Event) -> None:
    while True:
        await session.anti_entropy()
        wake.set()
        await asyncio.sleep(sync_interval())


class AwaitedContent:
    """Content of entries that arrived without it, until iroh-docs reports it ready."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.arrived = asyncio.Event()

    def note(self, event: ReplicaEvent) -> None:
        if event.content is None:
            return
        blob, author = event.content
        if author is None:
            self.blobs.pop(blob, None)
        else:
            self.blobs[blob] = bytes.fromhex(author)
            self.arrived.set()

    def take(self) -> list[tuple[str, bytes]]:
        self.arrived.clear()
        taken, self.blobs = list(self.blobs.items()), {}
        return taken


async def repair_content(session: Session, wake: asyncio.Event, awaited: AwaitedContent) -> None:
    """Separate from anti-entropy: a download from a silent peer can take a stall timeout.

    Content still missing CONTENT_GRACE after its entry arrived is fetched then (a report
    relayed by a coordinator that is itself still fetching it would otherwise wait for the
    next full scan); every sync interval, all replicas are scanned.
    """
    next_scan = time.monotonic() + sync_interval()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(awaited.arrived.wait(), max(0.0, next_scan - time.monotonic()))
        try:
            arrived = 0
            if awaited.arrived.is_set():
                await asyncio.sleep(CONTENT_GRACE)
                arrived += await session.fetch_content(awaited.take())
            if time.monotonic() >= next_scan:
                arrived += await session.repair_missing_content()
                next_scan = time.monotonic() + sync_interval()
            if arrived:
                wake.set()
        except Exception:
            log.exception("content repair failed")


async def pump_events(session: Session, role: Role, wake: asyncio.Event,
                      awaited: AwaitedContent) -> None:
    """Note every replica event; wake the role only for the scopes it acts on.

    A coordinator of 40 agents gets hundreds of events a second during a rollout (reports,
    heartbeats, sync rounds); reconciling on each kept its event loop so busy that iroh's
    docs engine, which waits for event callbacks, stopped answering agents' syncs, and
    agents rolled back for want of a coordinator (scripts/bench rollout --agents 40).
    """
    with session.node.events.listen() as events:
        while True:
            event = await events.get()
            session.note_event(event)
            awaited.note(event)
            if event.namespace_id in {session.config.scopes.get(name) for name in role.watched}:
                wake.set()
            await session.notify_change()  # wakes `status --watch` long-polls


async def _reconcile_loop(session: Session, role: Role, wake: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), sync_interval())
        await asyncio.sleep(DEBOUNCE)
        wake.clear()
        try:
            await role.reconcile(session)
        except Exception:
            # One bad round (e.g. a peer's malformed entry) must not stop the daemon; the
            # next round retries, and verification problems are reported through status.
            log.exception("reconcile failed")
