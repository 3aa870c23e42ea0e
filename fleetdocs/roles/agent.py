"""The agent: follow the admin-decided desired state, verify everything, report.

It trusts no coordinator: an assignment is applied only if it is an admin-signed audit
entry that verifies against the fleet's roster rules (fleetdocs.audit.verify_in_roster),
names this agent, and is not older than what it runs (a replayed older assignment is
refused and reported). Then it fetches the artifact from any peer, materializes and
activates it (fleetdocs.activation), runs the health check, and waits for a coordinator to
be reachable: if any of that fails it rolls back to the previous generation by itself
("magic rollback") and reports why. Progress survives restarts: an apply interrupted by a
restart is simply done again, and every step is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetdocs.activation import (
    ActivationError,
    AgentSettings,
    activate,
    health_check,
    materialize,
)
from fleetdocs.audit import AuditEntry, actions, in_past, order_key, verify_in_roster
from fleetdocs.canonical import canonical_bytes
from fleetdocs.enrollment import EnrollmentError, open_grant
from fleetdocs.errors import FleetdocsError
from fleetdocs.facts import collect_facts
from fleetdocs.net.tickets import Capability
from fleetdocs.roles.artifacts import fetch_artifact
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
    watched: tuple[str, ...] = (DESIRED, ENROLL)  # assignments; the grant, while waiting for approval

    def __init__(self, session: Session) -> None:
        self.me = session.identity.public_hex
        self.last_heartbeat = 0.0
        self.refused: dict[str, str] = {}
        self.facts_checked = False

    async def reconcile(self, session: Session) -> None:
        if not self.facts_checked:
            await report_facts(session)
            self.facts_checked = True
        if DESIRED not in session.config.scopes:
            await self._pick_up_grant(session)
        if DESIRED in session.config.scopes:
            candidate = await self.newest_assignment(session)
            if candidate is not None:
                await self.on_assignment(session, candidate)
        await self._heartbeat(session)

    async def on_assignment(self, session: Session, candidate: Candidate) -> None:
        state = agent_state(session)
        entry = candidate.entry
        if entry.hash in (state.get("current_entry"), *state.get("failed_entries", [])):
            return
        state["desired"], state["desired_entry"] = candidate.artifact, entry.hash
        settings = agent_settings(session)
        try:
            await write_status(session, phase="downloading", last_error=None)
            fetched = await fetch_artifact(session, candidate.artifact, root=settings.store_root)
            path = await asyncio.to_thread(materialize, fetched.manifest, candidate.artifact,
                                           fetched.blob_path, settings)
        except FleetdocsError as exc:
            # Nothing was activated: keep running the current generation and retry later.
            await write_status(session, phase="failed", last_error=f"download: {exc}")
            return
        await self._activate(session, entry, candidate.artifact, path, settings)

    async def _activate(self, session: Session, entry: AuditEntry, artifact: str, path: Path,
                        settings: AgentSettings) -> None:
        state = agent_state(session)
        try:
            await write_status(session, phase="activating")
            await asyncio.to_thread(activate, path, settings)
            await write_status(session, phase="checking")
            await asyncio.to_thread(health_check, path, settings)
            if not await coordinator_reachable(session, settings.confirm_timeout):
                raise ActivationError(f"no coordinator reachable within "
                                      f"{settings.confirm_timeout:.0f} s after activation")
        except ActivationError as exc:
            await self._roll_back(session, entry, artifact, str(exc), settings)
            return
        previous = state.get("current")
        state.update(previous=previous, previous_path=state.get("current_path"),
                     previous_entry=state.get("current_entry"), current=artifact,
                     current_path=str(path), current_entry=entry.hash,
                     current_entry_raw=entry.raw.hex())
        await record_generation(session, artifact, entry.hash, str(path), "healthy", None)
        await write_status(session, phase="healthy", last_error=None)

    async def _roll_back(self, session: Session, entry: AuditEntry, artifact: str, reason: str,
                         settings: AgentSettings) -> None:
        state = agent_state(session)
        state.setdefault("failed_entries", []).append(entry.hash)
        await record_generation(session, artifact, entry.hash, None, "rolled-back", reason)
        current_path = state.get("current_path")
        if current_path:
            try:
                await asyncio.to_thread(activate, Path(current_path), settings)
            except ActivationError as exc:
                reason = f"{reason}; re-activating the previous generation failed too: {exc}"
        await write_status(session, phase="rolled-back", last_error=reason)

    async def _pick_up_grant(self, session: Session) -> None:
        """Adopt the desired namespace named by an admin-signed approval of this agent.

        The enroll namespace is writable by every ticket holder, so a grant counts only if
        its approval verifies against the fleet's roster rules and names this agent.
        """
        enroll = await session.scope(ENROLL)
        for stored in await enroll.entries(grant_key(self.me)):
            try:
                capability = verified_grant(session, open_grant(session.identity, stored.value))
            except (EnrollmentError, KeyError, ValueError, TypeError) as exc:
                log.warning("ignoring grant by %s: %s", stored.author_hex[:12], exc)
                continue
            await session.adopt_scope(DESIRED, capability)
            await write_status(session, phase="idle")
            return

    async def newest_assignment(self, session: Session) -> Candidate | None:
        """The newest assignment for this agent that verifies; refusals are reported."""
        desired = await session.scope(DESIRED)
        raws = [e.value for e in await desired.entries()]
        parsed = [(raw, entry) for raw in raws if (entry := _parsed(raw)) is not None]
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
        await report.put(report_key("heartbeat"), canonical_bytes({"time": time.time()}))


def _parsed(raw: bytes) -> AuditEntry | None:
    """The entry, or None for bytes that are not one (verification reports those)."""
    try:
        return AuditEntry.from_bytes(raw)
    except ValueError:
        return None


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
    status["previous"] = state.get("previous")
    status["desired"] = state.get("desired")
    status["time"] = time.time()
    state["status"] = status
    session.save_config()
    log.info("phase %s%s", status["phase"],
             f" ({status['last_error']})" if status["last_error"] else "")
    report = await session.scope(REPORT)
    await report.put(report_key("status"), canonical_bytes(status))


DEFAULT_CONFIRM_TIMEOUT = 120.0


def agent_settings(session: Session) -> AgentSettings:
    """The agent's settings: the environment (set by the NixOS module) over the home's config."""
    configured: dict[str, Any] = agent_state(session).get("settings", {})

    def pick(env: str, key: str) -> Any:
        return os.environ.get(env) or configured.get(key)

    return AgentSettings(
        store_root=Path(pick("FLEETDOCS_STORE_ROOT", "store_root") or "/"),
        artifacts_dir=session.home.path / "generations",
        activate=pick("FLEETDOCS_ACTIVATION_COMMAND", "activate"),
        health_check=pick("FLEETDOCS_HEALTH_CHECK_COMMAND", "health_check"),
        confirm_timeout=float(pick("FLEETDOCS_CONFIRM_TIMEOUT", "confirm_timeout")
                              or DEFAULT_CONFIRM_TIMEOUT),
    )


async def coordinator_reachable(session: Session, timeout: float) -> bool:
    """Confirm the new generation can still reach the fleet (else it cut itself off)."""
    coordinators = {peer.hex() for peer, record in session.book.peers.items()
                    if record.role == "coordinator"}
    return bool(await session.sync_and_wait(timeout, any_of=coordinators) & coordinators)


async def record_generation(session: Session, artifact: str, entry: str, path: str | None,
                            result: str, reason: str | None) -> None:
    """Append to the agent's artifact graph: every generation it tried, with the outcome."""
    state = agent_state(session)
    seq = int(state.get("generation_seq", 0)) + 1
    state["generation_seq"] = seq
    record = {"seq": seq, "artifact": artifact, "entry": entry, "path": path, "result": result,
              "reason": reason, "time": time.time(), "previous": state.get("current")}
    session.save_config()
    report = await session.scope(REPORT)
    await report.put(report_key("generation", seq), canonical_bytes(record))


VOLATILE_FACTS = ("disk_free_bytes",)


async def report_facts(session: Session) -> None:
    """Add to the facts history when the device's facts changed since the last entry."""
    state = agent_state(session)
    facts = collect_facts(agent_settings(session).store_root)
    stable = {k: v for k, v in facts.items() if k not in VOLATILE_FACTS}
    if state.get("facts") == stable:
        return
    seq = int(state.get("facts_seq", 0)) + 1
    state.update(facts=stable, facts_seq=seq)
    session.save_config()
    report = await session.scope(REPORT)
    await report.put(report_key("facts", seq), canonical_bytes({**facts, "time": time.time()}))


def verified_grant(session: Session, grant: dict[str, Any]) -> Capability:
    roster = [bytes.fromhex(raw) for raw in grant["roster"]]
    approval_raw = bytes.fromhex(grant["approval"])
    verdict = verify_in_roster(session.config.fleet or "", roster, approval_raw)
    approval = AuditEntry.from_bytes(approval_raw)
    if not verdict.is_valid:
        raise EnrollmentError(f"grant's approval does not verify: {verdict.reason}")
    if approval.action != actions.ENROLL_APPROVE or approval.args["agent"] != session.identity.public_hex:
        raise EnrollmentError("grant's approval is not an approval of this agent")
    return Capability.read(bytes.fromhex(approval.args["desired_ns"]))
