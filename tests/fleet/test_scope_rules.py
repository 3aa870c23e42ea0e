"""Every "cannot" of docs/namespaces.md, shown with real nodes.

Capabilities: a Read holder's write fails. Per-key author rules: an entry written by an
author who may not write that key is ignored and reported, never applied.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from fleetdocs.audit import next_entry
from fleetdocs.errors import NetError
from fleetdocs.ledger import Ledger, now_us
from fleetdocs.roles.agent import AgentRole
from fleetdocs.roles.coordinator import CoordinatorRole
from fleetdocs.roles.enroll import read_requests
from fleetdocs.scopes import (
    CONTROL,
    DESIRED,
    ENROLL,
    WITNESS,
    addr_key,
    audit_key,
    checkpoint_key,
    report_scope,
    request_key,
)
from tests.fleet.sessions import Homes, homes, small_fleet

pytestmark = pytest.mark.net


def run(coro_factory):  # type: ignore[no-untyped-def]
    return asyncio.run(coro_factory())


def test_read_holders_cannot_write(tmp_path: Path) -> None:
    """Coordinator -> control (admin actions), admin and coordinator -> an agent's report,
    agent -> its desired state: each holds Read only, and its writes fail."""
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            agent = await enrolled_agent(h, "X")
            read_only = [
                await h["C1"].scope(CONTROL),
                await h["A"].scope(report_scope(agent)),
                await h["C1"].scope(report_scope(agent)),
                await h["X"].scope(DESIRED),
            ]
            for replica in read_only:
                assert not replica.writable
                with pytest.raises(NetError, match="read-only"):
                    await replica.put(b"status\x00", b"forged")
    run(scenario)


async def enrolled_agent(h: Homes, name: str) -> str:
    """Enroll and approve agent `name`; a coordinator grants it its desired scope."""
    invite = await h.op("A", "invite", role="agent")
    await h.open(name)
    await h.op(name, "agent.enroll", ticket=invite["ticket"])
    await h["A"].sync_and_wait(5)
    agent = h[name].identity.public_hex
    await h.op("A", "enroll.approve", agent=agent)
    await h["C1"].sync_and_wait(5)
    await CoordinatorRole(h["C1"]).reconcile(h["C1"])
    await h[name].sync_and_wait(5)
    await AgentRole(h[name]).reconcile(h[name])
    assert DESIRED in h[name].config.scopes, "the agent picked up its grant"
    return agent


def test_audit_entry_under_another_admins_key_is_ignored_and_reported(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            view = await Ledger(h["B"]).read()
            a_key = h["A"].identity.public_hex
            # B holds Write on control, signs a genuine entry of its own, and stores it under
            # A's key, where it would pose as A's history.
            entry = next_entry(view.log, h["B"].identity.signing_key, "admin.add",
                               {"key": "ab" * 32}, time_us=now_us())
            control = await h["B"].scope(CONTROL)
            await control.put(audit_key(a_key, 99), entry.to_bytes())
            after = await Ledger(h["B"]).read()
            assert entry.hash not in after.log, "the misplaced entry must not be applied"
            assert "ab" * 32 not in after.state.admins
            assert any(p.kind == "unauthorized" and "ignored control entry" in p.message
                       for p in after.problems)
            report = await h.op("B", "audit.verify")
            assert not report["ok"]
    run(scenario)


def test_checkpoint_under_another_coordinators_key_is_ignored(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            witness = await h["C2"].scope(WITNESS)
            await witness.put(checkpoint_key(h["C1"].identity.public_hex, 1), b"forged checkpoint")
            view = await Ledger(h["C2"]).read()
            assert b"forged checkpoint" not in view.checkpoints
    run(scenario)


def test_enrollment_request_under_another_agents_key_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            invite = await h.op("A", "invite", role="agent")
            await h.open("X")
            await h.open("Y")
            await h.op("X", "agent.enroll", ticket=invite["ticket"])
            await h.op("Y", "agent.enroll", ticket=invite["ticket"])
            # Y overwrites X's request slot with its own (validly signed) request.
            y_request = await (await h["Y"].scope(ENROLL)).entries(request_key(h["Y"].identity.public_hex))
            enroll_y = await h["Y"].scope(ENROLL)
            await enroll_y.put(request_key(h["X"].identity.public_hex), y_request[0].value)
            await h["A"].sync_and_wait(5)
            requests, refused = await read_requests(h["A"])
            assert set(requests) == {h["X"].identity.public_hex, h["Y"].identity.public_hex}
            assert requests[h["X"].identity.public_hex].agent == h["X"].identity.public_hex
            assert any("written by" in reason for reason in refused)
    run(scenario)


def test_address_published_for_another_principal_is_not_learned(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            victim = h["C1"].identity.public_hex
            control = await h["B"].scope(CONTROL)
            await control.put(addr_key(victim), json.dumps({"addrs": ["127.0.0.1:9"]}).encode())
            await h["A"].sync_and_wait(5)
            await h["A"].learn_published_addresses()
            learned = h["A"].book.peers.get(bytes.fromhex(victim))
            assert learned is None or "127.0.0.1:9" not in learned.addr.addrs
    run(scenario)


