"""Rollouts: `assign` an artifact to agents and `rollback` an agent, both audited actions.

The agents an `assign` names are resolved when the admin acts (ids, id prefixes, names, or
every approved agent carrying a tag) and written into the signed entry, so every peer and
every agent sees exactly the set the admin saw; a tag added later does not widen it.
"""

from __future__ import annotations

from typing import Any

from fleetdocs.audit import actions
from fleetdocs.errors import UsageError
from fleetdocs.ledger import Ledger, LedgerView
from fleetdocs.meta.targets import resolve_target
from fleetdocs.ops import operation
from fleetdocs.roles.admin import entry_json
from fleetdocs.roles.artifacts import assignment_history, resolve_artifact
from fleetdocs.roles.meta import known_targets, meta_store
from fleetdocs.session import Session
from fleetdocs.state import AgentStatus


def approved_agents(view: LedgerView) -> set[str]:
    return {a for a, record in view.state.agents.items() if record.status == AgentStatus.APPROVED}


def resolve_agents(session: Session, view: LedgerView, agents: list[str], tags: list[str]
                   ) -> list[str]:
    store = meta_store(session, view)
    known = known_targets(view.state, store)
    chosen = {resolve_target(f"agent:{text}", known).partition(":")[2] for text in agents}
    for tag in tags:
        tagged = {a for a in approved_agents(view)
                  if tag in (store.value(f"agent:{a}", "tags") or [])}
        if not tagged:
            raise UsageError(f"no approved agent has the tag {tag!r}")
        chosen |= tagged
    not_approved = sorted(chosen - approved_agents(view))
    if not_approved:
        raise UsageError(f"agent {not_approved[0][:12]}… is not an approved agent of this fleet")
    return sorted(chosen)


@operation("assign", writes=True, roles=("admin",))
async def assign(session: Session, artifact: str, agents: list[str] | None = None,
                 tags: list[str] | None = None) -> dict[str, Any]:
    if not agents and not tags:
        raise UsageError("name the agents: --agent ID (repeatable) or --tag TAG")
    ledger = Ledger(session)
    view = await ledger.read()
    artifact_id = resolve_artifact(artifact, view.state.artifacts)
    targets = resolve_agents(session, view, agents or [], tags or [])
    selector = " ".join([*(f"agent:{a}" for a in agents or []), *(f"tag:{t}" for t in tags or [])])
    entry = await ledger.append(actions.ASSIGN, {"artifact": artifact_id, "agents": targets,
                                                 "selector": selector[:1024]})
    return entry_json(entry)


@operation("rollback", writes=True, roles=("admin",))
async def rollback(session: Session, agent: str) -> dict[str, Any]:
    """Pin `agent` to the generation it had before its current assignment."""
    ledger = Ledger(session)
    view = await ledger.read()
    (target,) = resolve_agents(session, view, [agent], [])
    history = assignment_history(view.log).get(target, [])
    current = history[-1] if history else None
    previous = next((a for a in reversed(history) if a != current), None)
    if previous is None:
        raise UsageError(f"agent {target[:12]}… has no previous generation to roll back to")
    entry = await ledger.append(actions.ROLLBACK, {"agent": target, "artifact": previous})
    return entry_json(entry)
