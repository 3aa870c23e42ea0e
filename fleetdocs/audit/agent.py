"""Verification on agents, which only ever receive the roster changes and their own orders."""

from collections.abc import Iterable

from fleetdocs.audit.log import AuditLog
from fleetdocs.audit.verdict import Verdict


def verify_in_roster(fleet_id: str, roster_entries: Iterable[bytes], entry: bytes) -> Verdict:
    """Judge ``entry`` with the full rules, knowing only ``roster_entries``.

    ``roster_entries`` must be *all* roster changes of the fleet (genesis, admin.add,
    admin.remove) that the coordinators hold: the caller assumes completeness, because an
    absent entry cannot be told apart from an entry the agent was simply not sent. Every
    reference to an absent entry is therefore taken on trust (a sparse log), while forks,
    signatures, fleet id and the roster rules are checked exactly as on a full peer.
    """
    log = AuditLog(fleet_id, sparse=True)
    log.observe_all(roster_entries)
    return log.verdict(log.observe(entry))
