"""Exception classes of the audit core.

Every rejection of outside input raises one of these with a one-line message, so the CLI can
print ``str(error)`` as is and callers can tell bad input apart from bugs.
"""

from fleetdocs.errors import FleetdocsError


class AuditError(FleetdocsError, ValueError):
    """Base class: some input to the audit core was rejected."""


class EntryFormatError(AuditError):
    """Bytes are not a well-formed, canonical audit entry (or entry fields are out of range)."""


class ActionArgsError(AuditError):
    """An action name is unknown or its arguments do not match the action's schema."""


class SignatureError(AuditError):
    """A signature does not verify for the key that claims to have made it."""


class ChainError(AuditError):
    """A new entry cannot be appended because the author's own chain is incomplete."""


class CheckpointFormatError(AuditError):
    """Bytes are not a well-formed, canonical witness checkpoint."""


class ExportError(AuditError):
    """An export file cannot be read (wrong format, wrong fleet, unreadable)."""


class ExportTamperedError(ExportError):
    """An export file was altered after it was written (digest, count or order mismatch)."""
