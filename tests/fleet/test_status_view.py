"""Issue 7: the status view as a person and a script see it.

Pure part: `fleet_status` over real signed logs with generated agent reports (hypothesis),
and `render_status` into a 200-column console. Process part (one fleet of real processes
per module, see status_helpers): every field of `status --json`; `status --watch` in tmux
shows a newly approved agent and a new generation without being restarted; `status` from a
coordinator home, and offline with every daemon stopped, where ages make staleness visible.
The process tests run in file order: the watch test changes the fleet, the last one stops it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from rich.console import Console

from fleetdocs.audit import AuditLog, create_fleet, next_entry
from fleetdocs.ledger import LedgerView
from fleetdocs.meta import MetaStore
from fleetdocs.net.addressbook import AddressBook, PeerRecord
from fleetdocs.net.tickets import PeerAddr
from fleetdocs.reports import AgentReport
from fleetdocs.state import fold
from fleetdocs.status import ONLINE_HEARTBEATS, audit_summary, fleet_status
from fleetdocs.tui.status_view import render_status
from tests.fleet.harness import FLEETDOCS, Fleet
from tests.fleet.status_helpers import (
    StatusFleet,
    Terminal,
    build_status_fleet,
    healthy_on,
    publish_directory,
    status,
    stop_every_daemon,
)

CAPTURE_ENV = "FLEETDOCS_CAPTURE_SCREEN"  # a file to save the watch test's final screen in
NOW = 1_800_000_000.0
INTERVAL = 2.0
ADMIN = SigningKey(b"\x01" * 32)
COORDINATOR = SigningKey(b"\x02" * 32)
ARTIFACTS = ("a1" * 32, "b2" * 32)
PHASES = ("healthy", "failed", "rolled-back", "downloading", "activating", "checking", None)


def hexkey(signing_key: SigningKey) -> str:
    return signing_key.verify_key.encode().hex()


def agent_id(index: int) -> str:
    return hexkey(SigningKey(bytes([index + 10]) * 32))


def fleet_log(agents: int, assigned: list[int]) -> AuditLog:
    """A signed log: fleet, a coordinator, `agents` approved agents, two artifacts, and
    ARTIFACTS[0] assigned to the agents numbered in `assigned` (if any)."""
    genesis = create_fleet(ADMIN, "lab", time_us=1)
    log = AuditLog(genesis.hash)
    log.observe(genesis.raw)
    actions: list[tuple[str, dict[str, Any]]] = [
        ("coordinator.add", {"key": hexkey(COORDINATOR), "name": "C1"})]
    actions += [("enroll.approve", {"agent": agent_id(i), "request": f"{i:064x}",
                                    "report_ns": f"{i + 100:064x}", "desired_ns": f"{i + 200:064x}",
                                    "name": f"host-{i}"}) for i in range(agents)]
    actions += [("artifact.add", {"artifact": artifact, "kind": "dir", "name": f"site-{n}",
                                  "size": 10}) for n, artifact in enumerate(ARTIFACTS)]
    if assigned:
        actions.append(("assign", {"artifact": ARTIFACTS[0], "selector": selector(assigned),
                                   "agents": [agent_id(i) for i in assigned]}))
    for time_us, (action, args) in enumerate(actions, start=2):
        log.observe(next_entry(log, ADMIN, action, args, time_us=time_us).raw)
    return log


def selector(assigned: list[int]) -> str:
    """As `fleetdocs assign --agent ...` records it."""
    return " ".join(f"agent:{agent_id(i)}" for i in assigned)


def empty_book() -> AddressBook:
    """A book of no peers (its file is never read or written: the path does not exist)."""
    return AddressBook(Path("/nonexistent/fleetdocs/peers.json"), bytes.fromhex(hexkey(ADMIN)))


reports_strategy = st.lists(
    st.fixed_dictionaries({
        "phase": st.sampled_from(PHASES),
        "current": st.sampled_from((*ARTIFACTS, None)),
        "heartbeat_age": st.one_of(st.none(), st.floats(0, 600, allow_nan=False)),
        "error": st.one_of(st.none(), st.text(min_size=1, max_size=30)),
    }), min_size=1, max_size=6)


def as_report(generated: dict[str, Any]) -> AgentReport:
    status: dict[str, Any] = {"current": generated["current"],
                              "last_error": generated["error"]}
    if generated["phase"] is not None:
        status["phase"] = generated["phase"]
    age = generated["heartbeat_age"]
    return AgentReport(status=status, heartbeat=None if age is None else NOW - age)


def build_status(generated: list[dict[str, Any]], assigned: list[int]) -> dict[str, Any]:
    log = fleet_log(len(generated), assigned)
    reports = {agent_id(i): as_report(g) for i, g in enumerate(generated)}
    audit = audit_summary({"ok": True, "entries": len(log), "invalid": {}, "pending": {},
                           "problems": []})
    return fleet_status(LedgerView(log, fold(log)), reports, MetaStore(), empty_book(), audit,
                        now=NOW, interval=INTERVAL, pending_requests=[], last_sync=NOW - 5)


@settings(max_examples=25, deadline=None)
@given(generated=reports_strategy, data=st.data())
def test_agent_rows_follow_reports_and_assignments(
        generated: list[dict[str, Any]], data: st.DataObject) -> None:
    assigned = data.draw(st.lists(st.sampled_from(range(len(generated))), unique=True))
    doc = build_status(generated, assigned)
    rows = {row["id"]: row for row in doc["agents"]}
    assert [row["id"] for row in doc["agents"]] == sorted(rows)
    assert len(rows) == len(generated)
    for index, given_report in enumerate(generated):
        row = rows[agent_id(index)]
        age, phase = given_report["heartbeat_age"], given_report["phase"] or "unknown"
        desired = ARTIFACTS[0] if index in assigned else None
        assert row["name"] == f"host-{index}"
        assert row["age_s"] == (None if age is None else round(age, 1))
        assert row["last_seen"] == (None if age is None else NOW - age)
        assert row["online"] == (age is not None and age < ONLINE_HEARTBEATS * INTERVAL)
        assert (row["current"], row["desired"], row["phase"]) == (
            given_report["current"], desired, phase)
        assert row["last_error"] == given_report["error"]
        assert row["health"] == expected_health(phase, given_report["current"], desired)
        assert (row["generations"], row["tags"]) == (0, [])


def expected_health(phase: str, current: str | None, desired: str | None) -> str:
    if phase in ("failed", "rolled-back"):
        return "unhealthy"
    if phase == "healthy":
        return "healthy" if current == desired else "healthy (behind)"
    return "unknown" if phase == "unknown" else "updating"


@settings(max_examples=25, deadline=None)
@given(generated=reports_strategy, data=st.data())
def test_rollout_progress_counts_the_targets_on_the_artifact(
        generated: list[dict[str, Any]], data: st.DataObject) -> None:
    assigned = data.draw(st.lists(st.sampled_from(range(len(generated))), min_size=1,
                                  unique=True))
    doc = build_status(generated, assigned)
    [rollout] = doc["rollouts"]
    targets = [generated[i] for i in assigned]
    assert (rollout["artifact"], rollout["artifact_name"], rollout["selector"]) == (
        ARTIFACTS[0], "site-0", selector(assigned))
    assert rollout["agents"] == len(assigned)
    assert rollout["healthy"] == sum(1 for t in targets
                                     if t["current"] == ARTIFACTS[0] and t["phase"] == "healthy")
    assert rollout["failed"] == sum(1 for t in targets if t["phase"] in ("failed", "rolled-back"))


def test_principals_say_when_each_was_last_synced_with() -> None:
    book = empty_book()
    coordinator = bytes.fromhex(hexkey(COORDINATOR))
    book.peers[coordinator] = PeerRecord(PeerAddr(coordinator, ("127.0.0.1:1",)), "coordinator",
                                         NOW - 42.04)
    log = fleet_log(0, [])
    doc = fleet_status(LedgerView(log, fold(log)), {}, MetaStore(), book,
                       audit_summary({"ok": True, "entries": 4, "invalid": {}, "pending": {},
                                      "problems": []}),
                       now=NOW, interval=INTERVAL, pending_requests=[], last_sync=None)
    assert doc["principals"] == [
        {"id": hexkey(ADMIN), "role": "admin", "name": None, "last_contact": None, "age_s": None},
        {"id": hexkey(COORDINATOR), "role": "coordinator", "name": "C1",
         "last_contact": NOW - 42.04, "age_s": 42.0}]
    assert doc["fleet"] == {"id": log.fleet_id, "name": "lab"}
    assert (doc["agents"], doc["rollouts"], doc["last_sync"], doc["generated_at"]) == (
        [], [], None, NOW)


def test_audit_summary_counts_and_keeps_the_evidence() -> None:
    problem = {"kind": "equivocation", "message": "two entries at seq 3"}
    summary = audit_summary({"ok": False, "entries": 9, "invalid": {"e1": "bad sig"},
                             "pending": {"e2": "missing dep", "e3": "missing dep"},
                             "problems": [problem], "checkpoints": 2})
    assert summary == {"ok": False, "entries": 9, "invalid": 1, "pending": 2,
                       "problems": [problem]}


def render_text(doc: dict[str, Any]) -> str:
    out = StringIO()
    Console(file=out, width=200, color_system=None).print(render_status(doc))
    return out.getvalue()


@settings(max_examples=15, deadline=None)
@given(generated=reports_strategy)
def test_the_view_shows_every_agent_and_its_state(generated: list[dict[str, Any]]) -> None:
    doc = build_status(generated, list(range(len(generated))))
    lines = render_text(doc).splitlines()
    for row in doc["agents"]:
        [line] = [line for line in lines if f" {row['name']} " in line]
        assert row["id"][:12] in line and row["health"] in line and row["phase"] in line
        assert ("online" if row["online"] else "offline") in line
        if row["age_s"] is not None:
            assert f"{row['age_s']:.0f}s" in line
    [rollout_line] = [line for line in lines if "site-0" in line]
    assert f"/{len(generated)} " in rollout_line
    # Selectors name agents by full id: shown short, so the progress columns stay in view.
    assert f"agent:{agent_id(0)[:12]}…" in rollout_line and agent_id(0) not in rollout_line
    assert f"audit log verified: {doc['audit']['entries']} entries" in "\n".join(lines)


def test_the_view_shows_enrollments_conflicts_and_tampering() -> None:
    doc = build_status([{"phase": "healthy", "current": ARTIFACTS[0], "heartbeat_age": 1.0,
                         "error": None}], [0])
    doc["enrollments"] = [{"agent": "ee" * 32, "status": "pending", "time_us": NOW * 1e6,
                           "request": "f" * 64, "facts": {"hostname": "db-7", "os": "NixOS"}}]
    doc["conflicts"] = [{"target": "agent:" + agent_id(0), "field": "owner",
                         "values": [{"value": "alice", "author": "aa" * 32},
                                    {"value": "bob", "author": "bb" * 32}]}]
    doc["audit"] = {"ok": False, "entries": 7, "invalid": 1, "pending": 0,
                    "problems": [{"kind": "equivocation", "message": "two entries at seq 3"}]}
    text = render_text(doc)
    assert "enrollment requests" in text and "eeeeeeeeeeeeeeee" in text and "db-7" in text
    assert "metadata conflicts" in text and "'alice' by aaaaaaaa" in text and "'bob'" in text
    assert "AUDIT LOG NOT VERIFIED: 1 invalid, 1 problems" in text
    assert "equivocation: two entries at seq 3" in text
    assert "audit log verified" not in text


# --- real processes ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatusFleet]:
    root = tmp_path_factory.mktemp("status")
    fleet = Fleet(root)
    try:
        yield build_status_fleet(fleet, root)
    finally:
        stop_every_daemon(fleet)


@pytest.mark.net
def test_status_json_has_every_documented_field(built: StatusFleet) -> None:
    fleet, keys = built.fleet, built.keys
    before = time.time()
    doc = status(fleet, "A")
    assert set(doc) == {"fleet", "agents", "rollouts", "enrollments", "conflicts", "audit",
                        "principals", "last_sync", "generated_at"}
    assert doc["fleet"]["name"] == "status-demo" and len(doc["fleet"]["id"]) == 64
    assert before - 5 < doc["generated_at"] < time.time() + 5
    assert doc["last_sync"] is not None and doc["last_sync"] <= doc["generated_at"]

    rows = {row["id"]: row for row in doc["agents"]}
    assert set(rows) == {keys["X1"], keys["X2"]}  # X3 is pending: not an agent yet
    for home, name in (("X1", "web-1"), ("X2", "api-2")):
        row = rows[keys[home]]
        assert set(row) == {"id", "name", "online", "last_seen", "age_s", "current", "desired",
                            "phase", "health", "last_error", "generations", "tags"}
        assert row["name"] == name
        assert (row["current"], row["desired"], row["phase"], row["health"]) == (
            built.v1, built.v1, "healthy", "healthy")
        assert row["online"] is True and row["last_error"] is None and row["generations"] == 1
        assert row["age_s"] == pytest.approx(doc["generated_at"] - row["last_seen"], abs=0.1)
    assert rows[keys["X1"]]["tags"] == ["frontend"] and rows[keys["X2"]]["tags"] == []

    [rollout] = doc["rollouts"]
    assert set(rollout) == {"entry", "artifact", "artifact_name", "selector", "time_us",
                            "agents", "healthy", "failed"}
    assert (rollout["artifact"], rollout["artifact_name"]) == (built.v1, "site-v1")
    assert (rollout["agents"], rollout["healthy"], rollout["failed"]) == (2, 2, 0)
    log = {row["hash"]: row for row in fleet.json_lines("A", "audit", "log")}
    assert log[rollout["entry"]]["action"] == "assign"
    assert rollout["time_us"] == log[rollout["entry"]]["time_us"]
    assert rollout["selector"] == log[rollout["entry"]]["args"]["selector"]

    [request] = doc["enrollments"]
    assert (request["agent"], request["status"]) == (keys["X3"], "pending")
    assert request["facts"]["hostname"] and request["time_us"] > 0

    [conflict] = doc["conflicts"]
    assert (conflict["target"], conflict["field"]) == (f"agent:{keys['X1']}", "owner")
    assert {v["author"]: v["value"] for v in conflict["values"]} == {
        keys["A"]: "alice", keys["B"]: "bob"}

    assert doc["audit"] == {"ok": True, "entries": len(log), "invalid": 0, "pending": 0,
                            "problems": []}

    principals = {(p["role"], p["id"]): p for p in doc["principals"]}
    assert set(principals) == {("admin", keys["A"]), ("admin", keys["B"]),
                               ("coordinator", keys["C1"])}
    assert principals[("coordinator", keys["C1"])]["name"] == "C1"
    assert principals[("admin", keys["A"])]["last_contact"] is None  # this home
    for other in (("admin", keys["B"]), ("coordinator", keys["C1"])):
        row = principals[other]
        assert row["age_s"] == pytest.approx(doc["generated_at"] - row["last_contact"], abs=0.1)
        assert row["age_s"] < 60


@pytest.mark.net
def test_watch_in_tmux_shows_changes_without_a_restart(built: StatusFleet,
                                                       tmp_path: Path) -> None:
    fleet, keys = built.fleet, built.keys
    terminal = Terminal(fleet.env)
    try:
        terminal.start([*FLEETDOCS, "--home", str(fleet.home("A")), "status", "--watch"])
        first = terminal.wait_for("the first screen", lambda s: "web-1" in s and "api-2" in s)
        assert "enrollment requests" in first and keys["X3"][:16] in first
        assert "metadata conflicts" in first and "owner" in first

        fleet.run("A", "enroll", "approve", keys["X3"], "--name", "web-3")
        terminal.wait_for("web-3 to appear", lambda s: "web-3" in s
                          and "enrollment requests" not in s)

        v2 = publish_directory(fleet, tmp_path / "site-v2", "v2")
        fleet.run("A", "assign", v2, *[a for h in ("X1", "X2", "X3") for a in ("--agent", keys[h])])
        screen = terminal.wait_for(
            "all three agents healthy on v2",
            lambda s: sum(1 for line in s.splitlines() if line.count(v2[:12]) == 2
                          and " healthy " in line) == 3)
        assert "site-v2" in screen and "3/3" in screen
        assert healthy_on(fleet, "A", v2, ["web-1", "api-2", "web-3"])
        if capture := os.environ.get(CAPTURE_ENV):  # how docs/status-screen.txt was made
            Path(capture).write_text(
                "\n".join(line.rstrip() for line in screen.rstrip().splitlines()) + "\n")
    finally:
        terminal.close()


@pytest.mark.net
def test_status_from_a_coordinator_and_offline(built: StatusFleet) -> None:
    fleet, keys = built.fleet, built.keys
    from_admin = status(fleet, "A")
    from_coordinator = status(fleet, "C1")
    for doc in (from_admin, from_coordinator):
        assert doc["fleet"] == from_admin["fleet"]
        assert {row["id"] for row in doc["agents"]} == {keys[h] for h in ("X1", "X2", "X3")}

    stop_every_daemon(fleet)
    # Past the online window (ONLINE_HEARTBEATS sync intervals of 1 s): nothing refreshes
    # the agents' reports now, so their ages grow and they show as offline.
    time.sleep(ONLINE_HEARTBEATS + 0.5)
    offline = status(fleet, "A")
    assert offline["last_sync"] is None  # this process never synced: it read the replica
    for row in offline["agents"]:
        assert row["age_s"] >= ONLINE_HEARTBEATS and row["online"] is False
    assert {row["id"]: row["current"] for row in offline["agents"]} == {
        row["id"]: row["current"] for row in from_admin["agents"]}
    assert all(row["age_s"] >= ONLINE_HEARTBEATS for row in status(fleet, "C1")["agents"])
