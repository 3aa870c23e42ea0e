"""Entry content that iroh-docs could not fetch when its entry arrived is repaired promptly.

iroh-docs downloads an entry's content once, from the peer that delivered the entry. A
coordinator relaying an agent's report before it has fetched the report's content leaves
the admin with the entry and no content; the daemon fetches it (author first) about a
second later, instead of at the next full scan one sync interval later.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import blake3
import iroh
import pytest

from fleetdocs.daemon import AwaitedContent, pump_events, repair_content
from fleetdocs.net.blobs import BlobStore
from fleetdocs.net.node import ReplicaEvent
from fleetdocs.roles.admin_role import AdminRole
from fleetdocs.scopes import CONTROL
from tests.fleet.sessions import homes, small_fleet, sync_once

pytestmark = pytest.mark.net


def test_content_missing_at_arrival_is_fetched_from_its_author_before_any_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETDOCS_SYNC_INTERVAL", "3600")  # no full scan during the test

    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            value = os.urandom(8192)
            blob = blake3.blake3(value).hexdigest()
            relay, replica = await h["C1"].scope(CONTROL), await h["A"].scope(CONTROL)
            # Set up with iroh calls fleetdocs never makes: both coordinators take entries
            # without fetching their content (as if still fetching), and neither A nor, once
            # C1 has its entry, B is live, so A hears of B's write only from the coordinators
            # and iroh-docs asks only them for the content.
            for coordinator in ("C1", "C2"):
                await (await h[coordinator].scope(CONTROL))._doc.set_download_policy(
                    iroh.DownloadPolicy.nothing())  # type: ignore[no-untyped-call]
            await h["A"].learn_published_addresses()
            assert h["B"].identity.public in h["A"].book.peers
            await replica._doc.leave()
            author = await h["B"].scope(CONTROL)
            await author.put(b"note\x00", value)
            await sync_once(h["C1"], relay, h["B"])
            assert [blob] == [b for b, _ in await relay.missing_content()]
            await author._doc.leave()

            admin, awaited, wake = h["A"], AwaitedContent(), asyncio.Event()
            tasks = [asyncio.create_task(pump_events(admin, AdminRole(admin), wake, awaited)),
                     asyncio.create_task(repair_content(admin, wake, awaited))]
            try:
                await sync_once(admin, replica, h["C1"])  # from the relay only
                admin_blobs = BlobStore(admin.node)
                assert [blob] == [b for b, _ in await replica.missing_content()], \
                    "the entry arrived without its content"
                async with asyncio.timeout(30):
                    while not await admin_blobs.has(blob):
                        await asyncio.sleep(0.1)
                assert wake.is_set(), "the role is woken to read what arrived"
                assert await admin_blobs.read(blob) == value
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    asyncio.run(scenario())


def test_awaited_content_forgets_what_iroh_delivered() -> None:
    awaited = AwaitedContent()
    author = "aa" * 32
    awaited.note(ReplicaEvent("ns", "insert_remote", "bb" * 32, ("01" * 32, author)))
    awaited.note(ReplicaEvent("ns", "insert_remote", "bb" * 32, ("02" * 32, author)))
    awaited.note(ReplicaEvent("ns", "content_ready", None, ("01" * 32, None)))
    awaited.note(ReplicaEvent("ns", "sync_finished", "bb" * 32))
    assert awaited.arrived.is_set()
    assert awaited.take() == [("02" * 32, bytes.fromhex(author))]
    assert not awaited.arrived.is_set() and awaited.take() == []


def test_only_events_of_the_scopes_a_role_watches_wake_it(tmp_path: Path) -> None:
    """Busy namespaces (reports, heartbeats) must not keep a coordinator reconciling."""
    class Probe:
        watched: tuple[str, ...] = ("probe",)

        async def reconcile(self, session: object) -> None:
            return None

    async def scenario() -> None:
        async with homes(tmp_path) as h:
            session = await h.open("A")
            watched, other = "ff" * 32, "ee" * 32  # no real replica sends these ids
            session.config.scopes["probe"] = watched
            wake = asyncio.Event()
            task = asyncio.create_task(pump_events(session, Probe(), wake, AwaitedContent()))
            try:
                await asyncio.sleep(0.1)  # the pump listens
                session.node.events.publish(ReplicaEvent(other, "insert_remote", "aa" * 32))
                await asyncio.sleep(0.2)
                assert not wake.is_set(), "an unwatched scope woke the role"
                session.node.events.publish(ReplicaEvent(watched, "insert_remote", "aa" * 32))
                async with asyncio.timeout(5):
                    await wake.wait()
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    asyncio.run(scenario())
