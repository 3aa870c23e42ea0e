"""`status` rendering of a generated 50-agent fleet beside rendering an empty fleet.

The state is a real verified audit log (approvals, an artifact, assignments) folded into
fleet state, with one status report per agent, so `fleet_status` and `render_status` do
exactly what `fleetdocs status` does after reading the replicas.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from nacl.signing import SigningKey
from rich.console import Console

from bench.results import Result, percentile, time_runs
from fleetdocs.audit import AuditLog, actions, create_fleet, next_entry
from fleetdocs.ledger import LedgerView
from fleetdocs.meta import MetaStore
from fleetdocs.net.addressbook import AddressBook
from fleetdocs.reports import AgentReport
from fleetdocs.state import fold
from fleetdocs.status import fleet_status
from fleetdocs.tui.status_view import render_status

LIMIT = "CPU: rich table layout, one row per agent"


def run(agents: int, runs: int = 20) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as scratch:
        full = _render_seconds(_generated_fleet(agents), Path(scratch), runs)
        empty = _render_seconds(_generated_fleet(0), Path(scratch), runs)
    params = {"agents": agents, "runs": runs}
    return [
        Result("render", f"status of {agents} agents, p50", full, "s", empty,
               "status of an empty fleet, p50", LIMIT, params),
        Result("render", "status of an empty fleet, p50", empty, "s", None, None, LIMIT,
               params),
    ]


def _generated_fleet(agents: int) -> tuple[LedgerView, dict[str, AgentReport]]:
    admin = SigningKey(bytes([7]) * 32)
    genesis = create_fleet(admin, "bench", time_us=1)
    log = AuditLog(genesis.hash)
    log.observe(genesis.raw)
    artifact = "ab" * 32
    ids = [SigningKey(number.to_bytes(32, "big")).verify_key.encode().hex()
           for number in range(1, agents + 1)]
    decisions: list[tuple[str, dict[str, object]]] = [
        (actions.ENROLL_APPROVE, {"agent": agent, "request": "cd" * 32, "report_ns": "ef" * 32,
                                  "desired_ns": "12" * 32, "name": f"device-{number}"})
        for number, agent in enumerate(ids)]
    decisions.append((actions.ARTIFACT_ADD, {"artifact": artifact, "kind": "file",
                                             "name": "web", "size": 1}))
    if ids:
        decisions.append((actions.ASSIGN, {"artifact": artifact, "agents": ids,
                                           "selector": "bench"}))
    for time_us, (action, args) in enumerate(decisions, start=2):
        log.observe(next_entry(log, admin, action, args, time_us=time_us).raw)
    now = time.time()
    reports = {agent: AgentReport(status={"phase": "healthy", "current": artifact,
                                          "time": now}, heartbeat=now) for agent in ids}
    return LedgerView(log, fold(log)), reports


def _render_seconds(fleet: tuple[LedgerView, dict[str, AgentReport]], scratch: Path,
                    runs: int) -> float:
    view, reports = fleet
    book = AddressBook(scratch / "peers.json", bytes(32))
    audit = {"ok": True, "entries": len(view.log), "invalid": 0, "pending": 0, "problems": []}

    def render() -> None:
        status = fleet_status(view, reports, MetaStore.rebuild([]), book, audit,
                              now=time.time(), interval=1.0, pending_requests=[],
                              last_sync=None)
        Console(file=io.StringIO(), width=160).print(render_status(status))

    return percentile(time_runs(render, runs), 0.5)
