"""Which peers a daemon adopts from the connections it sees, and syncs each replica with.

Coordinators and admins adopt every peer that reached them (a restarted or new principal);
agents only refresh the peers their ticket and the fleet's published addresses named, so
other agents met as gossip neighbours never become sync partners (docs/design.md). An
agent's own namespaces are synced with that agent only, never offered to the others. An agent
that holds its grant leaves `enroll` and finds its coordinators in its desired namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from fleetdocs.roles.agent import AgentRole
from fleetdocs.roles.coordinator import CoordinatorRole
from fleetdocs.scopes import (
    DESIRED,
    ENROLL,
    addr_key,
    author_may_write,
    desired_scope,
    grant_key,
    parse_key,
    report_scope,
)
from tests.fleet.sessions import enrolled, homes, small_fleet, sync_once

pytestmark = pytest.mark.net


def test_agents_do_not_adopt_other_agents_but_coordinators_adopt_new_peers(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            await h["A"].learn_published_addresses()  # so invitations name the coordinators
            x, y = await enrolled(h, "X"), await enrolled(h, "Y")
            coordinator = h["C1"]
            known_to_x = set(x.book.peers)
            assert coordinator.identity.public in known_to_x, "the ticket named the coordinators"

            enrollments = await y.scope(ENROLL)
            await sync_once(y, enrollments, x)
            await sync_once(y, enrollments, coordinator)
            coordinator.book.peers.pop(y.identity.public, None)  # as if Y were new to C1
            for session in (x, coordinator):
                await session.refresh_peer_addrs()

            assert y.identity.public not in x.book.peers, "an agent adopted another agent"
            assert set(x.book.peers) == known_to_x
            assert y.identity.public in coordinator.book.peers, "the coordinator learned Y"
    asyncio.run(scenario())


def test_each_agents_namespace_is_synced_with_that_agent_and_no_other(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            await h["A"].learn_published_addresses()
            agents = [await enrolled(h, "X"), await enrolled(h, "Y")]
            await h["A"].sync_and_wait(5)
            for agent in agents:
                await h.op("A", "enroll.approve", agent=agent.identity.public_hex)
            coordinator = h["C1"]
            await coordinator.sync_and_wait(5)
            await CoordinatorRole(coordinator).reconcile(coordinator)
            # Y as if it had just connected to enroll: its role is not known yet.
            for agent, role in zip(agents, ("agent", None), strict=True):
                await coordinator.learn_peers([await agent.node.addr()], role=role)
            report = {agent.identity.public_hex:
                      coordinator.config.scopes[report_scope(agent.identity.public_hex)]
                      for agent in agents}

            rounds: set[tuple[str, str]] = set()
            with coordinator.node.events.listen() as events:
                await coordinator.sync_all()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(3):
                        while True:
                            event = await events.get()
                            if event.kind in ("sync_finished", "sync_failed") and event.peer:
                                rounds.add((event.namespace_id, event.peer))

            for owner, namespace in report.items():
                assert (namespace, owner) in rounds, "synced with the agent it belongs to"
                others = {peer for ns, peer in rounds if ns == namespace} & set(report) - {owner}
                assert not others, f"{owner[:12]}…'s report was offered to other agents"
    asyncio.run(scenario())


def test_an_agent_holding_its_grant_leaves_enroll_and_finds_coordinators_in_desired(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            await h["A"].learn_published_addresses()
            x = await enrolled(h, "X")
            await h["A"].sync_and_wait(5)
            await h.op("A", "enroll.approve", agent=x.identity.public_hex)
            coordinator = h["C1"]
            await coordinator.sync_and_wait(5)
            await CoordinatorRole(coordinator).reconcile(coordinator)
            await x.sync_and_wait(5)
            await AgentRole(x).reconcile(x)
            assert DESIRED in x.config.scopes, "the grant was picked up"

            served = await coordinator.scope(desired_scope(x.identity.public_hex))
            marker = grant_key("ee" * 32)
            await (await coordinator.scope(ENROLL)).put(marker, b"written after X left")
            await served.put(marker.replace(b"grant/", b"entry/"), b"written after X left")
            desired, enroll = await x.scope(DESIRED), await x.scope(ENROLL)
            async with asyncio.timeout(20):
                while not await desired.entries(b"entry/" + b"ee" * 32):
                    await coordinator.sync_all()
                    await x.sync_and_wait(2)

            assert not await enroll.entries(marker), "X still syncs enroll"
            published = await desired.entries(addr_key(coordinator.identity.public_hex))
            assert [e.author for e in published] == [coordinator.identity.public]
            assert author_may_write(DESIRED, parse_key(published[0].key),
                                    coordinator.identity.public_hex).accepted, "learned from"
    asyncio.run(scenario())
