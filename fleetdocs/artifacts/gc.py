"""Retention planning: which artifacts (and blobs, and store paths) may be deleted, and why not.

Pure functions over what the caller knows; nothing is deleted here. Coordinators keep every
artifact an agent runs, is assigned, or could roll back to, plus anything used within the
retention period; the rest is collected. Agents keep their current and previous generation
(and an assigned one not yet activated). Blobs shared between artifacts (store paths common
to two closures) are collected only when no kept artifact needs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from fleetdocs.artifacts.errors import ArtifactError
from fleetdocs.artifacts.manifest import ClosureManifest


class KeepReason(Enum):
    """Why an artifact survives a collection."""

    RUNNING = "running on"
    ASSIGNED = "assigned to"
    ROLLBACK = "rollback target of"
    RECENT = "used within the retention period"


@dataclass(frozen=True)
class Keep:
    """One reason to keep an artifact, naming the agent it concerns (if any)."""

    reason: KeepReason
    agent: str | None = None

    def __str__(self) -> str:
        return self.reason.value if self.agent is None else f"{self.reason.value} {self.agent}"


@dataclass(frozen=True)
class ArtifactRecord:
    """An artifact the coordinator stores; `last_used` is when it was added or last deployed."""

    artifact_id: str
    last_used: datetime


@dataclass(frozen=True)
class AgentGenerations:
    """What one agent runs now, could roll back to, and is asked to run next."""

    agent: str
    running: str | None = None
    previous: str | None = None
    assigned: str | None = None


@dataclass(frozen=True)
class RetentionPlan:
    """The outcome: reasons for every kept artifact, the ids to collect, and unknown ids.

    `missing` lists artifacts agents refer to that are not stored here (worth a warning).
    """

    keep: Mapping[str, tuple[Keep, ...]]
    collect: tuple[str, ...]
    missing: tuple[str, ...]


def plan_retention(
    artifacts: Iterable[ArtifactRecord],
    agents: Iterable[AgentGenerations],
    *,
    now: datetime,
    retention: timedelta,
) -> RetentionPlan:
    """Coordinator-side plan: keep what agents need or what is recent, collect the rest."""
    if retention < timedelta(0):
        raise ArtifactError("retention period must not be negative")
    reasons = _agent_reasons(agents)
    known: dict[str, ArtifactRecord] = {record.artifact_id: record for record in artifacts}
    for record in known.values():
        if now - record.last_used < retention:
            reasons.setdefault(record.artifact_id, []).append(Keep(KeepReason.RECENT))
    return _plan(known, reasons)


def plan_agent(history: Sequence[str], assigned: str | None, stored: Iterable[str]) -> RetentionPlan:
    """Agent-side plan: keep the current and previous generation and a pending assignment.

    `history` is the agent's activations, oldest first (the last one is current); `stored`
    is every artifact id the agent holds locally.
    """
    current = history[-1] if history else None
    earlier = [artifact for artifact in history if artifact != current]
    generations = AgentGenerations("this agent", current, earlier[-1] if earlier else None, assigned)
    reasons = _agent_reasons([generations])
    return _plan(dict.fromkeys(stored), reasons)


def blobs_to_collect(plan: RetentionPlan, blobs_by_artifact: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """Blobs only collected artifacts use, plus those artifacts' manifest blobs (their ids)."""
    kept = set().union(*(blobs_by_artifact.get(artifact, ()) for artifact in plan.keep))
    collected = set(plan.collect).union(*(blobs_by_artifact.get(artifact, ()) for artifact in plan.collect))
    return frozenset(collected - kept - set(plan.keep))


def store_paths_to_delete(
    kept: Iterable[ClosureManifest], collected: Iterable[ClosureManifest]
) -> frozenset[str]:
    """Store paths of collected closures that no kept closure contains."""
    needed = {entry.path for manifest in kept for entry in manifest.paths}
    return frozenset(
        entry.path for manifest in collected for entry in manifest.paths if entry.path not in needed
    )


def _agent_reasons(agents: Iterable[AgentGenerations]) -> dict[str, list[Keep]]:
    reasons: dict[str, list[Keep]] = {}
    for generations in agents:
        for artifact, reason in (
            (generations.running, KeepReason.RUNNING),
            (generations.assigned, KeepReason.ASSIGNED),
            (generations.previous, KeepReason.ROLLBACK),
        ):
            if artifact is not None:
                reasons.setdefault(artifact, []).append(Keep(reason, generations.agent))
    return reasons


def _plan(known: Mapping[str, object], reasons: Mapping[str, list[Keep]]) -> RetentionPlan:
    keep = {artifact: tuple(reasons[artifact]) for artifact in sorted(known) if artifact in reasons}
    collect = tuple(artifact for artifact in sorted(known) if artifact not in reasons)
    missing = tuple(sorted(set(reasons) - set(known)))
    return RetentionPlan(keep, collect, missing)
