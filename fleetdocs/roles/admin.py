"""Admin operations on the roster and on the audit log itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fleetdocs.audit import AuditEntry, actions
from fleetdocs.audit.export import read_export, write_export
from fleetdocs.audit.witness import check_checkpoints
from fleetdocs.errors import UsageError
from fleetdocs.identity import parse_public_hex
from fleetdocs.ledger import Ledger, LedgerView
from fleetdocs.ops import operation
from fleetdocs.session import Session

READERS = ("admin", "coordinator")


@operation("admin.add", writes=True, roles=("admin",))
async def admin_add(session: Session, key: str) -> dict[str, Any]:
    entry = await Ledger(session).append(actions.ADMIN_ADD, {"key": parse_public_hex(key).hex()})
    return entry_json(entry)


@operation("admin.remove", writes=True, roles=("admin",))
async def admin_remove(session: Session, key: str) -> dict[str, Any]:
    principal = parse_public_hex(key).hex()
    ledger = Ledger(session)
    roster = (await ledger.read()).log.roster
    if principal not in roster.admins:
        raise UsageError(f"{principal[:12]}… is not an admin of this fleet")
    if roster.admins == {principal}:
        raise UsageError("the last admin cannot be removed")
    return entry_json(await ledger.append(actions.ADMIN_REMOVE, {"key": principal}))


@operation("coordinator.add", writes=True, roles=("admin",))
async def coordinator_add(session: Session, key: str, name: str | None = None) -> dict[str, Any]:
    principal = parse_public_hex(key).hex()
    entry = await Ledger(session).append(
        actions.COORDINATOR_ADD, {"key": principal, "name": name or principal[:12]})
    return entry_json(entry)


@operation("coordinator.remove", writes=True, roles=("admin",))
async def coordinator_remove(session: Session, key: str) -> dict[str, Any]:
    principal = parse_public_hex(key).hex()
    ledger = Ledger(session)
    if principal not in (await ledger.read()).log.roster.coordinators:
        raise UsageError(f"{principal[:12]}… is not a coordinator of this fleet")
    return entry_json(await ledger.append(actions.COORDINATOR_REMOVE, {"key": principal}))


@operation("agent.revoke", writes=True, roles=("admin",))
async def agent_revoke(session: Session, key: str) -> dict[str, Any]:
    """Revoke an agent: coordinators stop serving it; its reports stay for the record."""
    principal = parse_public_hex(key).hex()
    ledger = Ledger(session)
    if principal not in (await ledger.read()).state.agents:
        raise UsageError(f"{principal[:12]}… is not an agent of this fleet")
    return entry_json(await ledger.append(actions.AGENT_REVOKE, {"agent": principal}))


@operation("admin.list", roles=READERS)
async def admin_list(session: Session) -> dict[str, Any]:
    roster = (await Ledger(session).read()).log.roster
    return {"admins": sorted(roster.admins), "coordinators": dict(roster.coordinators)}


@operation("audit.log", roles=READERS)
async def audit_log(session: Session) -> list[dict[str, Any]]:
    view = await Ledger(session).read()
    rows = []
    for entry in sorted(view.log.entries(), key=lambda e: (e.height, e.hash)):
        verdict = view.log.verdict(entry.hash)
        rows.append({**entry_json(entry), "status": str(verdict.status), "reason": verdict.reason})
    return rows


@operation("audit.verify", roles=READERS)
async def audit_verify(session: Session) -> dict[str, Any]:
    return verification_report(await Ledger(session).read())


@operation("audit.export", roles=READERS)
async def audit_export(session: Session, path: str) -> dict[str, Any]:
    view = await Ledger(session).read()
    write_export(view.log, view.checkpoints, Path(path))
    return {"path": path, "entries": len(view.log), "checkpoints": len(view.checkpoints)}


def verify_export(path: str, fleet: str) -> dict[str, Any]:
    """Offline verification of an export file with nothing but the fleet id."""
    log, checkpoints, problems = read_export(Path(path), fleet)
    del checkpoints  # read_export already checked them against the log
    report = _report(log.analysis.invalid, log.analysis.pending, problems)
    report["entries"] = len(log)
    return report


def verification_report(view: LedgerView) -> dict[str, Any]:
    analysis = view.log.analysis
    problems = [*view.log.problems, *view.problems,
                *check_checkpoints(view.log, view.checkpoints)]
    report = _report(analysis.invalid, analysis.pending, problems)
    report["entries"] = len(view.log)
    report["checkpoints"] = len(view.checkpoints)
    return report


def _report(invalid: dict[str, Any], pending: dict[str, Any], problems: list[Any]
            ) -> dict[str, Any]:
    unique = {p.sort_key(): p for p in problems}
    return {
        "ok": not invalid and not unique,
        "invalid": {h: v.reason for h, v in invalid.items()},
        "pending": {h: v.reason for h, v in pending.items()},
        "problems": [p.to_json() for _, p in sorted(unique.items())],
    }


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {"hash": entry.hash, "author": entry.author, "seq": entry.seq, "time_us": entry.time_us,
            "action": entry.action, "args": dict(entry.args)}
