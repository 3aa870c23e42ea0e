"""Fleet metadata: one Automerge document merged from the admins' audited changes.

Pure code (no network, no iroh). ``MetaStore`` rebuilds and merges the document from the audit
log's ``MetaChange`` list, ``fleetdocs.meta.edits`` makes the change bytes an admin signs, and
conflicts and history are derived from the change DAG. See docs/metadata.md.
"""

from fleetdocs.meta.change import MetaChange
from fleetdocs.meta.edits import resolve, set_value, tag_add, tag_remove, unset
from fleetdocs.meta.errors import (
    ChangeRejectedError,
    InvalidValueError,
    MalformedChangeError,
    MetaError,
    NoConflictError,
    NothingToChangeError,
    SchemaError,
    UnknownFieldError,
    UnknownTargetError,
)
from fleetdocs.meta.store import ChangeStatus, MetaStore, PendingChange, RejectedChange
from fleetdocs.meta.views import Attribution, Conflict, ConflictValue, HistoryItem

__all__ = [
    "Attribution",
    "ChangeRejectedError",
    "ChangeStatus",
    "Conflict",
    "ConflictValue",
    "HistoryItem",
    "InvalidValueError",
    "MalformedChangeError",
    "MetaChange",
    "MetaError",
    "MetaStore",
    "NoConflictError",
    "NothingToChangeError",
    "PendingChange",
    "RejectedChange",
    "SchemaError",
    "UnknownFieldError",
    "UnknownTargetError",
    "resolve",
    "set_value",
    "tag_add",
    "tag_remove",
    "unset",
]
