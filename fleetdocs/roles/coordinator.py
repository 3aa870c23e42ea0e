"""Coordinator: replicate every fleet namespace, witness the log, serve agents' desired state.

A coordinator holds Read on `control` (it cannot forge an admin action) and Write on
`witness`, `enroll` and — derived from the fleet secret — on every agent's `desired`
namespace. On each reconcile it:
1. reads and verifies the log, keeping every entry in its append-only witness store;
2. publishes a signed checkpoint when the heads changed;
3. for each approved agent: imports its report scope (Read), writes into its desired scope
   the roster entries, its approval and its winning assignment (admin-signed, unaltered),
   and leaves a grant sealed to the agent in `enroll` naming its desired namespace.
"""

from __future__ import annotations

from fleetdocs.audit import actions
from fleetdocs.audit.witness import checkpoint_of
from fleetdocs.enrollment import seal_grant
from fleetdocs.ledger import Ledger, LedgerView, now_us
from fleetdocs.net.tickets import Capability
from fleetdocs.roles.artifacts import replicate_artifacts
from fleetdocs.scopes import (
    CONTROL,
    ENROLL,
    WITNESS,
    checkpoint_key,
    desired_entry_key,
    desired_scope,
    desired_secret,
    grant_key,
    parse_key,
    report_scope,
)
from fleetdocs.session import Session
from fleetdocs.state import AgentStatus, FleetState


async def import_report_scopes(session: Session, state: FleetState) -> None:
    """Hold Read on the report scope of every approved agent (admins and coordinators)."""
    for agent, record in state.agents.items():
        scope = report_scope(agent)
        if record.status == AgentStatus.APPROVED and record.report_ns and \
                scope not in session.config.scopes:
            await session.adopt_scope(scope, Capability.read(bytes.fromhex(record.report_ns)))


def desired_entries(view: LedgerView, agent: str) -> dict[str, bytes]:
    """What an agent needs to verify its assignment: all roster changes, its approval, the
    winning assignment. Each is an admin-signed entry, copied as is."""
    wanted = {e.hash for e in view.log.valid_entries() if e.action in actions.ADMIN_CHANGES}
    record = view.state.agents.get(agent)
    if record is not None:
        wanted.add(record.decided_in)
    assignment = view.state.assignments.get(agent)
    if assignment is not None:
        wanted.add(assignment.entry)
    return {h: view.log.raw(h) for h in sorted(wanted)}


class CoordinatorRole:
    # Everything it serves follows from the log; reports and checkpoints need nothing of it.
    watched: tuple[str, ...] = (CONTROL,)

    def __init__(self, session: Session) -> None:
        self.ledger = Ledger(session)
        self.published_heads: dict[str, tuple[int, str]] | None = None
        self.served: dict[str, set[str]] = {}
        self.granted: set[str] = set()

    async def reconcile(self, session: Session) -> None:
        view = await self.ledger.read()
        await self._publish_checkpoint(session, view)
        await import_report_scopes(session, view.state)
        for agent, record in view.state.agents.items():
            if record.status == AgentStatus.APPROVED:
                await self._serve_agent(session, view, agent)
        await replicate_artifacts(session, view.state)

    async def _publish_checkpoint(self, session: Session, view: LedgerView) -> None:
        heads = dict(view.log.analysis.heads)
        if heads == self.published_heads or not heads:
            return
        counter = int(session.config.extra.get("checkpoint_counter", 0)) + 1
        checkpoint = checkpoint_of(view.log, session.identity.signing_key, counter=counter,
                                   time_us=now_us())
        witness = await session.scope(WITNESS)
        await witness.put(checkpoint_key(session.identity.public_hex, counter), checkpoint.raw)
        session.config.extra["checkpoint_counter"] = counter
        session.save_config()
        self.published_heads = heads

    async def _serve_agent(self, session: Session, view: LedgerView, agent: str) -> None:
        scope = desired_scope(agent)
        if scope not in session.config.scopes:
            secret = desired_secret(bytes.fromhex(session.config.extra["fleet_secret"]),
                                    bytes.fromhex(agent))
            await session.adopt_scope(scope, Capability.write(secret))
        desired = await session.scope(scope)
        served = self.served.get(agent)
        if served is None:
            served = {parts[1] for e in await desired.entries()
                      if (parts := parse_key(e.key)) and len(parts) == 2 and parts[0] == "entry"}
            self.served[agent] = served
        for digest, raw in desired_entries(view, agent).items():
            if digest not in served:
                await desired.put(desired_entry_key(digest), raw)
                served.add(digest)
        await self._grant(session, view, agent)

    async def _grant(self, session: Session, view: LedgerView, agent: str) -> None:
        """Hand the agent its approval and the roster, sealed to it: the approval (admin-signed)
        names its desired namespace, so a grant by anyone else cannot redirect the agent."""
        if agent in self.granted:
            return
        enroll = await session.scope(ENROLL)
        key = grant_key(agent)
        mine = [e for e in await enroll.entries(key) if e.author == session.identity.public]
        if not mine:
            roster = [e.raw.hex() for e in view.log.valid_entries()
                      if e.action in actions.ADMIN_CHANGES]
            approval = view.log.raw(view.state.agents[agent].decided_in).hex()
            grant = {"approval": approval, "roster": roster}
            await enroll.put(key, seal_grant(bytes.fromhex(agent), grant))
        self.granted.add(agent)
