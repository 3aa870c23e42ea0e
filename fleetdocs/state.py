"""Fleet state: a pure fold of the valid audit entries, in their deterministic order.

There is no other way to change fleet state than an audit entry, so this fold *is* the
state: every peer that holds the same entries computes the same value. Entries come in
``order_key`` order, a linear extension of causality, so "last one wins" means: causally
later wins, and concurrent decisions are settled by ``order_key``. One exception, for
safety: a revocation wins over a concurrent approval or rejection of the same agent (an
approval must have seen the revocation to undo it), so a stale approval cannot resurrect a
revoked device.
"""

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from fleetdocs.audit import actions
from fleetdocs.audit.entry import AuditEntry, in_past
from fleetdocs.audit.log import AuditLog
from fleetdocs.audit.verdict import Verdict


class AgentStatus(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


@dataclass(frozen=True)
class AgentRecord:
    status: AgentStatus
    name: str | None
    report_ns: str | None
    desired_ns: str | None
    approved_by: str | None
    request: str | None
    decided_in: str
    """Hash of the entry that set the current status."""


@dataclass(frozen=True)
class ArtifactRecord:
    kind: str
    name: str
    size: int
    added_by: str


@dataclass(frozen=True)
class Assignment:
    """The desired artifact of one agent and the signed entry that decided it."""

    artifact: str
    entry: str
    action: str
    """``assign`` or ``rollback``."""


@dataclass(frozen=True)
class FleetState:
    fleet_id: str
    name: str | None
    admins: frozenset[str]
    coordinators: Mapping[str, str]
    agents: Mapping[str, AgentRecord]
    artifacts: Mapping[str, ArtifactRecord]
    assignments: Mapping[str, Assignment]
    meta_changes: tuple[bytes, ...]
    """Automerge changes in fold order, for the metadata document to apply."""
    not_valid: Mapping[str, Verdict]
    """Invalid and pending entries with their reasons, for display."""


@dataclass
class _Builder:
    name: str | None = None
    agents: dict[str, AgentRecord] = field(default_factory=dict)
    revocations: dict[str, AuditEntry] = field(default_factory=dict)
    artifacts: dict[str, ArtifactRecord] = field(default_factory=dict)
    assignments: dict[str, Assignment] = field(default_factory=dict)
    meta_changes: list[bytes] = field(default_factory=list)

    def decision_blocked(self, agent: str, entry: AuditEntry) -> bool:
        """True if a revocation of ``agent`` exists that ``entry`` had not seen."""
        revocation = self.revocations.get(agent)
        return revocation is not None and not in_past(revocation, entry)


def fold(log: AuditLog) -> FleetState:
    """Compute the fleet state from ``log``'s valid entries."""
    builder = _Builder()
    for entry in log.valid_entries():
        handler = _HANDLERS.get(entry.action)
        if handler is not None:
            handler(builder, entry)
    analysis = log.analysis
    return FleetState(
        fleet_id=log.fleet_id,
        name=builder.name,
        admins=analysis.roster.admins,
        coordinators=analysis.roster.coordinators,
        agents=dict(sorted(builder.agents.items())),
        artifacts=dict(sorted(builder.artifacts.items())),
        assignments=dict(sorted(builder.assignments.items())),
        meta_changes=tuple(builder.meta_changes),
        not_valid={h: v for h, v in analysis.verdicts.items() if not v.is_valid},
    )


def _create(state: _Builder, entry: AuditEntry) -> None:
    state.name = entry.args["name"]


def _approve(state: _Builder, entry: AuditEntry) -> None:
    agent = entry.args["agent"]
    if state.decision_blocked(agent, entry):
        return
    state.agents[agent] = AgentRecord(
        status=AgentStatus.APPROVED,
        name=entry.args["name"],
        report_ns=entry.args["report_ns"],
        desired_ns=entry.args["desired_ns"],
        approved_by=entry.author,
        request=entry.args["request"],
        decided_in=entry.hash,
    )


def _reject(state: _Builder, entry: AuditEntry) -> None:
    agent = entry.args["agent"]
    if state.decision_blocked(agent, entry):
        return
    known = state.agents.get(agent)
    state.agents[agent] = AgentRecord(
        status=AgentStatus.REJECTED,
        name=known.name if known else None,
        report_ns=known.report_ns if known else None,
        desired_ns=known.desired_ns if known else None,
        approved_by=None,
        request=entry.args["request"],
        decided_in=entry.hash,
    )


def _revoke(state: _Builder, entry: AuditEntry) -> None:
    agent = entry.args["agent"]
    state.revocations[agent] = entry
    known = state.agents.get(agent)
    base = known or AgentRecord(AgentStatus.REVOKED, None, None, None, None, None, entry.hash)
    state.agents[agent] = replace(base, status=AgentStatus.REVOKED, decided_in=entry.hash)


def _add_artifact(state: _Builder, entry: AuditEntry) -> None:
    state.artifacts[entry.args["artifact"]] = ArtifactRecord(
        kind=entry.args["kind"],
        name=entry.args["name"],
        size=entry.args["size"],
        added_by=entry.author,
    )


def _assign(state: _Builder, entry: AuditEntry) -> None:
    for agent in entry.args["agents"]:
        state.assignments[agent] = Assignment(entry.args["artifact"], entry.hash, entry.action)


def _rollback(state: _Builder, entry: AuditEntry) -> None:
    state.assignments[entry.args["agent"]] = Assignment(
        entry.args["artifact"], entry.hash, entry.action
    )


def _meta(state: _Builder, entry: AuditEntry) -> None:
    state.meta_changes.append(base64.b64decode(entry.args["change"]))


_HANDLERS: Mapping[str, Callable[[_Builder, AuditEntry], None]] = {
    actions.FLEET_CREATE: _create,
    actions.ENROLL_APPROVE: _approve,
    actions.ENROLL_REJECT: _reject,
    actions.AGENT_REVOKE: _revoke,
    actions.ARTIFACT_ADD: _add_artifact,
    actions.ASSIGN: _assign,
    actions.ROLLBACK: _rollback,
    actions.META: _meta,
}
"""Roster actions are absent on purpose: the roster comes from the log's own rules."""
