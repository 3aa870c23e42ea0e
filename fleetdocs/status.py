"""The fleet status: one JSON-able document assembled from what this home holds locally.

Pure: it takes the verified log's view, the agents' reports, the metadata document and the
address book, and returns the data that `fleetdocs status --json` prints and the rich view
renders (schema in docs/cli.md). Everything is read from the local replica, so it works
offline; `age_s` fields say how stale each part is.
"""

from __future__ import annotations

from typing import Any

from fleetdocs.ledger import LedgerView
from fleetdocs.meta import MetaStore
from fleetdocs.meta.render import conflict_json
from fleetdocs.net.addressbook import AddressBook
from fleetdocs.reports import AgentReport
from fleetdocs.state import AgentStatus

ONLINE_HEARTBEATS = 3  # an agent is online if it beat within this many sync intervals
RECENT_ROLLOUTS = 5


def fleet_status(view: LedgerView, reports: dict[str, AgentReport], meta: MetaStore,
                 book: AddressBook, audit: dict[str, Any], *, now: float, interval: float,
                 pending_requests: list[dict[str, Any]], last_sync: float | None
                 ) -> dict[str, Any]:
    state = view.state
    agents = []
    for agent_id, record in sorted(state.agents.items()):
        if record.status != AgentStatus.APPROVED:
            continue
        report = reports.get(agent_id, AgentReport())
        status = report.status or {}
        assignment = state.assignments.get(agent_id)
        seen = max(filter(None, [report.heartbeat, status.get("time")]), default=None)
        name = meta.value(f"agent:{agent_id}", "name") or record.name
        phase = status.get("phase", "unknown")
        agents.append({
            "id": agent_id,
            "name": name,
            "online": seen is not None and now - seen < ONLINE_HEARTBEATS * max(interval, 1.0),
            "last_seen": seen,
            "age_s": None if seen is None else round(now - seen, 1),
            "current": status.get("current"),
            "desired": assignment.artifact if assignment else None,
            "phase": phase,
            "health": _health(phase, status.get("current"),
                              assignment.artifact if assignment else None),
            "last_error": status.get("last_error"),
            "generations": len(report.generations),
            "tags": meta.value(f"agent:{agent_id}", "tags") or [],
        })
    return {
        "fleet": {"id": state.fleet_id, "name": state.name},
        "agents": agents,
        "rollouts": _rollouts(view, agents),
        "enrollments": pending_requests,
        "conflicts": [conflict_json(c) for c in meta.conflicts()],
        "audit": audit,
        "principals": _principals(view, book, now),
        "last_sync": last_sync,
        "generated_at": now,
    }


def audit_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The status's audit part: counts of invalid and pending entries, problems in full.

    Counts keep the status small; the problems are kept whole because they are the evidence
    of tampering that an operator must be able to read from the status alone.
    """
    return {"ok": report["ok"], "entries": report["entries"], "invalid": len(report["invalid"]),
            "pending": len(report["pending"]), "problems": report["problems"]}


def _health(phase: str, current: str | None, desired: str | None) -> str:
    if phase in ("failed", "rolled-back"):
        return "unhealthy"
    if phase == "healthy" and current == desired:
        return "healthy"
    if phase == "healthy":
        return "healthy (behind)"
    return "unknown" if phase == "unknown" else "updating"


def _rollouts(view: LedgerView, agents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {a["id"]: a for a in agents}
    recent = [e for e in view.log.valid_entries() if e.action == "assign"][-RECENT_ROLLOUTS:]
    rollouts = []
    for entry in reversed(recent):
        targets = list(entry.args["agents"])
        artifact = entry.args["artifact"]
        done = sum(1 for a in targets if by_id.get(a, {}).get("current") == artifact
                   and by_id[a]["phase"] == "healthy")
        failed = sum(1 for a in targets if by_id.get(a, {}).get("health") == "unhealthy")
        rollouts.append({"entry": entry.hash, "artifact": artifact,
                         "artifact_name": getattr(view.state.artifacts.get(artifact), "name", None),
                         "selector": entry.args.get("selector"), "time_us": entry.time_us,
                         "agents": len(targets), "healthy": done, "failed": failed})
    return rollouts


def _principals(view: LedgerView, book: AddressBook, now: float) -> list[dict[str, Any]]:
    rows = []
    roster = view.log.roster
    for role, keys in (("admin", sorted(roster.admins)), ("coordinator", sorted(roster.coordinators))):
        for key in keys:
            record = book.peers.get(bytes.fromhex(key))
            contact = record.last_contact if record else None
            rows.append({"id": key, "role": role,
                         "name": roster.coordinators.get(key) if role == "coordinator" else None,
                         "last_contact": contact,
                         "age_s": None if contact is None else round(now - contact, 1)})
    return rows
