"""The control namespace read as an audit log, and the only way to write an admin action.

Reading applies the namespace's per-key author rule before the audit core sees anything:
an entry stored under `audit/<author>/<seq>` counts only if the iroh author is that admin
and the signed entry says the same author and seq. Everything else is kept aside and
reported, never applied. Coordinators also keep every entry they ever saw in an
append-only witness store outside iroh-docs, so that rewriting or deleting history in the
namespace cannot erase what they saw (see docs/audit.md).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import blake3

from fleetdocs.audit import AuditEntry, AuditLog, Problem, ProblemKind, create_fleet, next_entry
from fleetdocs.audit.witness import deletion_problem
from fleetdocs.scopes import CONTROL, WITNESS, audit_key, author_may_write, parse_key
from fleetdocs.session import Session
from fleetdocs.state import FleetState, fold


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass
class LedgerView:
    log: AuditLog
    state: FleetState
    problems: list[Problem] = field(default_factory=list)
    checkpoints: list[bytes] = field(default_factory=list)


class WitnessStore:
    """Append-only file of every audit entry (and checkpoint) a coordinator ever saw."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[str, bytes] = {}
        if path.exists():
            for line in path.read_bytes().splitlines():
                raw = base64.b64decode(line)
                self.seen[_digest(raw)] = raw

    def keep(self, raws: list[bytes]) -> None:
        new = [raw for raw in raws if _digest(raw) not in self.seen]
        if not new:
            return
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, b"".join(base64.b64encode(raw) + b"\n" for raw in new))
            os.fsync(fd)
        finally:
            os.close(fd)
        for raw in new:
            self.seen[_digest(raw)] = raw


# Entries whose signatures a session already checked: daemons re-read the log on every
# change and each CLI request through the daemon reads it again.
_VERIFIED: WeakKeyDictionary[Session, dict[str, AuditEntry]] = WeakKeyDictionary()


def _digest(raw: bytes) -> str:
    return blake3.blake3(raw).hexdigest()


class Ledger:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._write_lock = asyncio.Lock()
        self.witness = (WitnessStore(session.home.path / "witness-store")
                        if session.config.role == "coordinator" else None)

    @property
    def fleet_id(self) -> str:
        fleet = self.session.config.fleet
        assert fleet is not None, "require_role() guarantees a fleet"
        return fleet

    async def read(self) -> LedgerView:
        control = await self.session.scope(CONTROL)
        log = AuditLog(self.fleet_id, verified=_VERIFIED.setdefault(self.session, {}))
        problems: list[Problem] = []
        present: set[tuple[str, int]] = set()
        accepted: list[bytes] = []
        for stored in await control.entries(b"audit/"):
            parts = parse_key(stored.key)
            verdict = author_may_write(CONTROL, parts, stored.author_hex)
            if not verdict.accepted:
                problems.append(Problem(ProblemKind.UNAUTHORIZED,
                                        f"ignored control entry: {verdict.reason}",
                                        {"author": stored.author_hex, "key": stored.key.hex()}))
                continue
            assert parts is not None
            digest = log.observe(stored.value)
            entry = log.entry(digest)
            if entry is not None and (entry.author, entry.seq) != (parts[1], int(parts[2], 16)):
                problems.append(Problem(ProblemKind.MALFORMED,
                                        "entry stored under another author's or seq's key",
                                        {"key": stored.key.hex(), "entry": digest}))
            if entry is not None:
                present.add((entry.author, entry.seq))
            accepted.append(stored.value)
        if self.witness is not None:
            self.witness.keep(accepted)
            log.observe_all(self.witness.seen.values())
            problems.extend(self._deletions(log, present))
        for author, prefix in await control.tombstones(b"audit/"):
            problems.append(deletion_problem(log, author.hex(), prefix))
        checkpoints = await self._checkpoints()
        return LedgerView(log, fold(log), problems, checkpoints)

    def _deletions(self, log: AuditLog, present: set[tuple[str, int]]) -> list[Problem]:
        """Entries this coordinator saw that the namespace no longer holds."""
        missing = [e for e in log.entries() if (e.author, e.seq) not in present]
        return [Problem(ProblemKind.DELETION,
                        f"entry {e.author[:12]}…#{e.seq} was seen by this witness but is gone "
                        "from the control namespace", {"entry": base64.b64encode(e.raw).decode()})
                for e in missing]

    async def _checkpoints(self) -> list[bytes]:
        if WITNESS not in self.session.config.scopes:
            return []
        witness = await self.session.scope(WITNESS)
        found = []
        for stored in await witness.entries(b"checkpoint/"):
            if author_may_write(WITNESS, parse_key(stored.key), stored.author_hex).accepted:
                found.append(stored.value)
        return found

    async def append(self, action: str, args: Mapping[str, Any]) -> AuditEntry:
        """Sign `action` as this admin's next entry and store it: the action IS the entry."""
        async with self._write_lock:
            view = await self.read()
            entry = next_entry(view.log, self.session.identity.signing_key, action, args,
                               time_us=now_us())
            await self._store(entry)
            return entry

    async def _store(self, entry: AuditEntry) -> None:
        control = await self.session.scope(CONTROL)
        await control.put(audit_key(entry.author, entry.seq), entry.to_bytes())


async def write_genesis(session: Session, name: str) -> AuditEntry:
    entry = create_fleet(session.identity.signing_key, name, time_us=now_us())
    control = await session.scope(CONTROL)
    await control.put(audit_key(entry.author, entry.seq), entry.to_bytes())
    return entry
