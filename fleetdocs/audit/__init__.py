"""Audit log core: signed admin actions, their verification, roster rules and witnesses.

Pure code (no network, no iroh): the net layer feeds bytes in, the CLI and daemons read
verdicts, problems, the roster and the valid entries out. See docs/audit.md.
"""

from fleetdocs.audit.agent import verify_in_roster
from fleetdocs.audit.append import create_fleet, next_entry
from fleetdocs.audit.entry import (
    AuditEntry,
    concurrent,
    in_past,
    order_key,
    sign_entry,
    storage_key,
)
from fleetdocs.audit.errors import (
    ActionArgsError,
    AuditError,
    ChainError,
    CheckpointFormatError,
    EntryFormatError,
    ExportError,
    ExportTamperedError,
    SignatureError,
)
from fleetdocs.audit.log import Analysis, AuditLog, Roster
from fleetdocs.audit.verdict import Problem, ProblemKind, Status, Verdict

__all__ = [
    "ActionArgsError",
    "Analysis",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "ChainError",
    "CheckpointFormatError",
    "EntryFormatError",
    "ExportError",
    "ExportTamperedError",
    "Problem",
    "ProblemKind",
    "Roster",
    "SignatureError",
    "Status",
    "Verdict",
    "concurrent",
    "create_fleet",
    "in_past",
    "next_entry",
    "order_key",
    "sign_entry",
    "storage_key",
    "verify_in_roster",
]
