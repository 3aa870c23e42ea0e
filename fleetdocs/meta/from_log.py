"""The metadata changes a verified audit log carries: the ones to apply, and the ones it refused.

The store must see exactly the ``meta`` entries the log judged valid, with author, time and entry
hash taken from the signed entry (not from the change), because that is what the fleet trusts.
Entries the log did not accept (e.g. a removed admin's concurrent edits) are listed apart so the
CLI can show them as not applied instead of hiding them.
"""

import base64
from dataclasses import dataclass

from fleetdocs.audit import AuditLog, actions
from fleetdocs.meta.change import MetaChange


@dataclass(frozen=True, slots=True)
class UnappliedEntry:
    """A ``meta`` entry whose change the store never sees, and the log's reason for that."""

    entry_hash: str
    author: str
    time_us: int
    status: str
    reason: str


def meta_changes(log: AuditLog) -> list[MetaChange]:
    """The valid ``meta`` entries of ``log`` as store input, in the log's fold order."""
    return [
        MetaChange(
            entry_hash=bytes.fromhex(entry.hash),
            author=bytes.fromhex(entry.author),
            time_us=entry.time_us,
            change=base64.b64decode(entry.args["change"]),
        )
        for entry in log.valid_entries()
        if entry.action == actions.META
    ]


def unapplied_entries(log: AuditLog) -> list[UnappliedEntry]:
    """Signed ``meta`` entries that are invalid or still pending in the log, oldest first."""
    valid = {entry.hash for entry in log.valid_entries()}
    found = []
    for entry in log.entries():
        if entry.action != actions.META or entry.hash in valid:
            continue
        verdict = log.verdict(entry.hash)
        found.append(UnappliedEntry(entry.hash, entry.author, entry.time_us,
                                    str(verdict.status), verdict.reason))
    return sorted(found, key=lambda item: (item.time_us, item.entry_hash))

