"""Attacks on agents, each refused and visible (issue 6), with real nodes in one process.

- an unapproved or rejected device gets no scopes, and admins see it pending or rejected;
- a grant forged by another ticket holder cannot redirect an agent;
- a coordinator re-serving an older valid assignment (replay) is refused and reported;
- an assignment signed by a removed admin is refused and reported;
- a report written by anyone but the agent (even with the leaked secret) is ignored;
- an artifact whose bytes do not match its hash is not applied, and the agent says why.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from fleetdocs.artifacts.closure import stage_file
from fleetdocs.audit import actions, next_entry
from fleetdocs.enrollment import seal_grant
from fleetdocs.errors import UsageError
from fleetdocs.facts import collect_facts
from fleetdocs.ledger import Ledger, now_us
from fleetdocs.net.blobs import BlobStore
from fleetdocs.reports import read_report
from fleetdocs.roles.agent import AgentRole, agent_state
from fleetdocs.roles.coordinator import CoordinatorRole
from fleetdocs.scopes import (
    DESIRED,
    ENROLL,
    REPORT,
    desired_entry_key,
    grant_key,
    report_scope,
    request_key,
)
from tests.artifacts.net_helpers import lying_blob_provider
from tests.fleet.sessions import Homes, enrolled, homes, small_fleet

pytestmark = pytest.mark.net
ARTIFACT = "ab" * 32
PAYLOAD_SIZE = 8 * 1024


def run(factory: Any) -> Any:
    return asyncio.run(factory())


async def enroll(h: Homes, name: str) -> str:
    """Enroll `name` and let A see its request; returns its id."""
    agent = await enrolled(h, name)
    await h["A"].sync_and_wait(5)
    return agent.identity.public_hex


async def serve(h: Homes, agent_home: str) -> None:
    """One coordinator round, and the agent syncs what it was served."""
    await h["C1"].sync_and_wait(5)
    await CoordinatorRole(h["C1"]).reconcile(h["C1"])
    await h[agent_home].sync_and_wait(5)


async def grant_picked_up(h: Homes, name: str) -> None:
    await serve(h, name)
    await AgentRole(h[name]).reconcile(h[name])


async def approved_agent(h: Homes, name: str) -> str:
    """Enroll `name`, approve it from A and let it pick up its grant; returns its id."""
    agent = await enroll(h, name)
    await h.op("A", "enroll.approve", agent=agent)
    await grant_picked_up(h, name)
    return agent


def test_unapproved_and_rejected_devices_get_no_scopes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            await enroll(h, "U")           # never decided
            rejected = await enroll(h, "R")
            await h.op("A", "enroll.reject", agent=rejected)
            for name in ("U", "R"):
                await grant_picked_up(h, name)
                assert DESIRED not in h[name].config.scopes
            enroll_c1 = await h["C1"].scope(ENROLL)
            assert not await enroll_c1.entries(grant_key(rejected))
            # Visible to admins: U waits in `enroll list`, R is listed rejected, and the
            # rejection is an audit entry.
            unapproved = h["U"].identity.public_hex
            pending = await h.op("A", "enroll.list")
            assert [row["agent"] for row in pending["requests"]] == [unapproved]
            every = await h.op("A", "enroll.list", all_requests=True)
            assert {row["agent"]: row["status"] for row in every["requests"]} == {
                unapproved: "pending", rejected: "rejected"}
            audit = await h.op("A", "audit.log")
            assert [(row["action"], row["status"]) for row in audit
                    if row["args"].get("agent") in (unapproved, rejected)] == [
                (actions.ENROLL_REJECT, "valid")]
    run(scenario)


def test_forged_grant_cannot_redirect_an_agent(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            victim = await enroll(h, "X")
            await enroll(h, "Y")
            # Y (any ticket holder) approves X itself and points it at a namespace Y controls.
            rogue = await h["Y"].node.create_namespace()
            view = await Ledger(h["A"]).read()
            fake = next_entry(view.log, h["Y"].identity.signing_key, actions.ENROLL_APPROVE, {
                "agent": victim, "request": "00" * 32, "report_ns": "00" * 32,
                "desired_ns": rogue.id_hex, "name": "x"}, time_us=now_us())
            roster = [e.raw.hex() for e in view.log.valid_entries() if e.action in actions.ADMIN_CHANGES]
            sealed = seal_grant(bytes.fromhex(victim), {"approval": fake.raw.hex(), "roster": roster})
            await (await h["Y"].scope(ENROLL)).put(grant_key(victim), sealed)
            await h["X"].sync_and_wait(5)
            await AgentRole(h["X"]).reconcile(h["X"])
            assert DESIRED not in h["X"].config.scopes, "a forged grant must not be adopted"
            await h.op("A", "enroll.approve", agent=victim)
            await grant_picked_up(h, "X")
            assert h["X"].config.scopes[DESIRED] != rogue.id_hex
            assert h["X"].config.scopes[DESIRED] == (await Ledger(h["A"]).read()).state.agents[
                victim].desired_ns
    run(scenario)


async def approved_with_assignments(h: Homes, count: int) -> tuple[str, list[str]]:
    agent = await enroll(h, "X")
    await h.op("A", "enroll.approve", agent=agent)
    ledger = Ledger(h["A"])
    await ledger.append(actions.ARTIFACT_ADD, {"artifact": ARTIFACT, "kind": "file",
                                               "name": "f", "size": 1})
    hashes = []
    for _ in range(count):
        entry = await ledger.append(actions.ASSIGN, {"artifact": ARTIFACT, "agents": [agent],
                                                     "selector": "test"})
        hashes.append(entry.hash)
    await grant_picked_up(h, "X")
    return agent, hashes


def test_replayed_older_assignment_is_refused_and_reported(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            agent, (older, newer) = await approved_with_assignments(h, 2)
            view = await Ledger(h["C1"]).read()
            # The agent runs the newer assignment; the coordinator withdraws it and serves
            # only the older one (a rollback/replay attack).
            state = agent_state(h["X"])
            state["current_entry"], state["current_entry_raw"] = newer, view.log.raw(newer).hex()
            desired = await h["C1"].scope(f"desired:{agent}")
            await desired.delete_prefix(desired_entry_key(newer))
            await desired.put(desired_entry_key(older), view.log.raw(older))
            await h["X"].sync_and_wait(5)
            role = AgentRole(h["X"])
            assert await role.newest_assignment(h["X"]) is None
            assert "older than the running" in state["status"]["last_error"]
            await h["A"].sync_and_wait(5)
            report = await read_report(h["A"], report_scope(agent), agent)
            assert report.status is not None and "refused" in report.status["last_error"]
    run(scenario)


def test_assignment_by_a_removed_admin_is_refused_and_reported(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            agent, _ = await approved_with_assignments(h, 1)
            await h.op("A", "admin.remove", key=h["B"].identity.public_hex)
            await h["B"].sync_and_wait(5)
            view_b = await Ledger(h["B"]).read()
            rogue = next_entry(view_b.log, h["B"].identity.signing_key, actions.ASSIGN,
                               {"artifact": "cd" * 32, "agents": [agent], "selector": "x"},
                               time_us=now_us())
            await serve(h, "X")
            # A (compromised) coordinator serves the removed admin's assignment to the agent.
            desired = await h["C1"].scope(f"desired:{agent}")
            await desired.put(desired_entry_key(rogue.hash), rogue.raw)
            await h["X"].sync_and_wait(5)
            chosen = await AgentRole(h["X"]).newest_assignment(h["X"])
            assert chosen is not None and chosen.artifact == ARTIFACT
            assert "refused" in agent_state(h["X"])["status"]["last_error"]
    run(scenario)


def test_report_by_anyone_but_the_agent_is_ignored(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            agent = await approved_agent(h, "X")
            await AgentRole(h["X"]).reconcile(h["X"])
            # Even with the report namespace's secret leaked to a coordinator, its entries
            # do not count as the agent's.
            leaked = await (await h["X"].scope(REPORT)).share_capability()
            forged = await h["C1"].node.import_capability(leaked, [await h["X"].node.addr()])
            await forged.put(b"status\x00", json.dumps({"phase": "healthy"}).encode())
            await h["A"].sync_and_wait(5)
            await h["A"].repair_missing_content()
            report = await read_report(h["A"], report_scope(agent), agent)
            assert report.ignored, "the forged entry is listed"
            assert report.status is None or report.status.get("phase") != "healthy"
    run(scenario)


def test_json_nested_too_deeply_by_a_device_is_refused_not_fatal(tmp_path: Path) -> None:
    """A device may write what it likes in its own report and its own enrollment request;
    JSON nested past Python's recursion limit must not stop admins' `status` or `enroll list`."""
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            agent = await approved_agent(h, "X")
            nested = b"[" * 5000
            await (await h["X"].scope(REPORT)).put(b"status\x00", nested)
            stranger = await enrolled(h, "Y")
            await (await h["Y"].scope(ENROLL)).put(request_key(stranger.identity.public_hex),
                                                   nested)
            await h["Y"].sync_and_wait(5)
            await h["X"].sync_and_wait(5)
            await h["A"].sync_and_wait(5)
            await h["A"].repair_missing_content()
            report = await read_report(h["A"], report_scope(agent), agent)
            assert "malformed status entry" in report.ignored
            assert any(row["id"] == agent for row in (await h.op("A", "status"))["agents"])
            listed = await h.op("A", "enroll.list")
            assert any("malformed enrollment request" in line for line in listed["refused"])
    run(scenario)


def test_a_revoked_agent_is_served_nothing_new(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            agent, _ = await approved_with_assignments(h, 1)
            await h.op("A", "agent.revoke", key=agent)
            later = await Ledger(h["A"]).append(actions.ASSIGN, {
                "artifact": ARTIFACT, "agents": [agent], "selector": "after revoke"})
            await serve(h, "X")
            served = {e.key for e in await (await h["X"].scope(DESIRED)).entries()}
            assert desired_entry_key(later.hash) not in served
    run(scenario)


def test_other_ticket_holders_cannot_read_an_agents_report_namespace_or_facts(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            victim = await enroll(h, "X")
            await enroll(h, "Y")
            await h["Y"].sync_and_wait(5)
            report_ns = h["X"].config.scopes[REPORT]
            facts = collect_facts()
            requests = await (await h["Y"].scope(ENROLL)).entries(b"request/")
            assert any(e.author_hex == victim for e in requests), "Y does see X's request"
            for secret in (report_ns, facts["hostname"], facts["kernel"], "machine_id"):
                assert all(secret.encode() not in e.value for e in requests), secret
            with pytest.raises(UsageError, match="needs an admin or coordinator home; this is an agent home"):
                await h.op("Y", "enroll.list")
            # Admins open both with the fleet's enrollment key: the facts in `enroll list`,
            # the report namespace in the approval.
            listed = await h.op("A", "enroll.list")
            (row,) = [row for row in listed["requests"] if row["agent"] == victim]
            assert row["facts"]["hostname"] == facts["hostname"]
            entry = await h.op("A", "enroll.approve", agent=victim)
            assert entry["args"]["report_ns"] == report_ns
    run(scenario)


def test_an_artifact_whose_bytes_do_not_match_its_hash_is_refused_and_reported(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h, \
                lying_blob_provider(tmp_path / "liar", PAYLOAD_SIZE) as (liar, lies):
            await small_fleet(h)
            agent = await enroll(h, "X")
            await h.op("A", "enroll.approve", agent=agent)
            payload = tmp_path / "payload"
            payload.write_bytes(os.urandom(PAYLOAD_SIZE))
            staged = stage_file(payload)
            added = await h.op("A", "artifact.add", manifest=staged.manifest_bytes.decode(),
                               blobs={blob: str(path) for blob, path in staged.blobs.items()})
            # The only peer offering the bytes is one that lies about them.
            (blob,) = staged.blobs
            assert await BlobStore(h["A"].node).delete(blob)
            await h["X"].learn_peers([liar])
            await h.op("A", "assign", artifact=added["artifact"], agents=[agent])
            await grant_picked_up(h, "X")
            await AgentRole(h["X"]).reconcile(h["X"])
            assert lies.served >= 1, "the liar was asked and answered"
            state = agent_state(h["X"])
            assert state.get("current") is None, "nothing was activated"
            assert not await BlobStore(h["X"].node).has(blob)
            error = state["status"]["last_error"]
            assert state["status"]["phase"] == "failed"
            assert f"{liar.node_id_hex[:12]}…: sent bytes that do not match the hash" in error
            await h["A"].sync_and_wait(5)
            await h["A"].repair_missing_content()
            report = await read_report(h["A"], report_scope(agent), agent)
            assert report.status is not None and report.status["last_error"] == error
    run(scenario)
