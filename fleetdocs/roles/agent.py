"""The agent: follow the admin-decided desired state, verify everything, report.

It trusts no coordinator: an assignment is applied only if it is an admin-signed audit
entry that verifies against the fleet's roster rules (fleetdocs.audit.verify_in_roster),
names this agent, and is not older than what it runs (a replayed older assignment is
refused and reported). Application itself lives in fleetdocs.apply.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from fleetdocs.audit import AuditEntry, actions, in_past, order_key, verify_in_roster
from fleetdocs.enrollment import EnrollmentError, open_grant
from fleetdocs.net.tickets import Capability
from fleetdocs.scopes import DESIRED, ENROLL, REPORT, grant_key, report_key
from fleetdocs.session import Session, sync_interval

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    entry: AuditEntry

    @property
    def artifact(self) -> str:
        return str(self.entry.args["artifact"])


class AgentRole:
    def __init__(self, session: Session) -> None:
        self.me = session.identity.public_hex
        self.last_heartbeat = 0.0
        self.refused: dict[str, str] = {}

    async def reconcile(self, session: Session) -> None:
        if DESIRED not in session.config.scopes:
            await self._pick_up_grant(session)
        if DESIRED in session.config.scopes:
            candidate = await self.newest_assignment(session)
            if candidate is not None:
                await self.on_assignment(session, candidate)
        await self._heartbeat(session)

    async def on_assignment(self, session: Session, candidate: Candidate) -> None:
        """Record the verified desired state (fleetdocs.apply replaces this to activate)."""
        state = agent_state(session)
        if state.get("desired_entry") != candidate.entry.hash:
            state["desired_entry"] = candidate.entry.hash
            state["desired"] = candidate.artifact
            session.save_config()
            await write_status(session, phase="idle")

    async def _pick_up_grant(self, session: Session) -> None:
        enroll = await session.scope(ENROLL)
        for stored in await enroll.entries(grant_key(self.me)):
            try:
                grant = open_grant(session.identity, stored.value)
                namespace = bytes.fromhex(str(grant["desired_ns"]))
                capability = Capability.read(namespace)
            except (EnrollmentError, KeyError, ValueError) as exc:
                log.warning("ignoring grant by %s: %s", stored.author_hex[:12], exc)
                continue
            await session.adopt_scope(DESIRED, capability)
            await write_status(session, phase="idle")
            return

    async def newest_assignment(self, session: Session) -> Candidate | None:
        """The newest assignment for this agent that verifies; refusals are reported."""
        desired = await session.scope(DESIRED)
        raws = [e.value for e in await desired.entries()]
        parsed = [(raw, AuditEntry.from_bytes(raw)) for raw in raws if _parses(raw)]
        roster = [raw for raw, e in parsed if e.action in actions.ADMIN_CHANGES]
        fleet = session.config.fleet or ""
        valid: list[AuditEntry] = []
        for raw, entry in parsed:
            if entry.action not in (actions.ASSIGN, actions.ROLLBACK) or not _names(entry, self.me):
                continue
            verdict = verify_in_roster(fleet, roster, raw)
            if verdict.is_valid:
                valid.append(entry)
            elif entry.hash not in self.refused:
                self.refused[entry.hash] = f"assignment {entry.hash[:12]}… refused: {verdict.reason}"
                await write_status(session, last_error=self.refused[entry.hash])
        if not valid:
            return None
        newest = max(valid, key=order_key)
        running = agent_state(session).get("current_entry_raw")
        if running:
            current = AuditEntry.from_bytes(bytes.fromhex(running))
            if newest.hash != current.hash and (in_past(newest, current)
                                                or order_key(newest) < order_key(current)):
                message = (f"replayed assignment {newest.hash[:12]}… is older than the running "
                           f"{current.hash[:12]}…: refused")
                if self.refused.get(newest.hash) != message:
                    self.refused[newest.hash] = message
                    await write_status(session, last_error=message)
                return None
        return Candidate(newest)

    async def _heartbeat(self, session: Session) -> None:
        if time.monotonic() - self.last_heartbeat < sync_interval():
            return
        self.last_heartbeat = time.monotonic()
        report = await session.scope(REPORT)
        await report.put(report_key("heartbeat"), _json({"time": time.time()}))


def _parses(raw: bytes) -> bool:
    try:
        AuditEntry.from_bytes(raw)
    except ValueError:
        return False
    return True


def _names(entry: AuditEntry, agent: str) -> bool:
    if entry.action == actions.ROLLBACK:
        return entry.args.get("agent") == agent
    return agent in entry.args.get("agents", ())


def agent_state(session: Session) -> dict[str, Any]:
    state: dict[str, Any] = session.config.extra.setdefault("agent", {})
    return state


async def write_status(session: Session, **changes: Any) -> None:
    """Merge `changes` into the agent's status entry (one key, overwritten: latest wins)."""
    state = agent_state(session)
    status = {"phase": "idle", "current": None, "desired": None, "last_error": None,
              **state.get("status", {}), **changes}
    status["current"] = state.get("current")
    status["desired"] = state.get("desired")
    status["time"] = time.time()
    state["status"] = status
    session.save_config()
    report = await session.scope(REPORT)
    await report.put(report_key("status"), _json(status))


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
