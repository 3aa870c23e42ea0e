"""Exceptions of the metadata package.

Every failure a user or a peer can cause has its own class with a one-line message, so the CLI
can print ``str(error)`` as is and callers can tell bad input apart from bugs.
"""

from fleetdocs.errors import FleetdocsError


class MetaError(FleetdocsError):
    """Base class of every metadata error the CLI reports to the user."""


class SchemaError(MetaError):
    """A target, field, or value does not fit the metadata schema."""


class UnknownTargetError(SchemaError):
    """The target is neither ``agent:<hex>`` nor ``artifact:<hex>``."""


class UnknownFieldError(SchemaError):
    """The field does not exist for this kind of target."""


class InvalidValueError(SchemaError):
    """The value is not allowed for the field (wrong kind, empty, too long, bad characters)."""


class NoConflictError(MetaError):
    """``resolve`` was asked for a field that has no conflict to resolve."""


class MalformedChangeError(MetaError):
    """The bytes are not one well-formed Automerge change chunk."""


class ChangeRejectedError(MetaError):
    """The change is well formed but may not enter the document (counter, schema, actor, seq)."""


class NothingToChangeError(MetaError):
    """The edit would change nothing (e.g. unset a field that is not set)."""


class AmbiguousTargetError(MetaError):
    """A target prefix or name matches more than one agent or artifact."""
