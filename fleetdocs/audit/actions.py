"""The admin actions an audit entry may carry, and the schema of each action's arguments.

An action's arguments are checked when the log judges the entry (an entry with an unknown
action or bad arguments stays in the log as invalid, with the reason) and before signing (so
our own tools never sign something peers would reject). Argument objects must have exactly
the listed keys: an unexpected key is an error, not ignored, so a signed entry cannot carry
meaning that some peers see and others do not.
"""

import binascii
from collections.abc import Callable, Mapping
from typing import Any, Final

from fleetdocs.audit.canonical import is_hex, is_int
from fleetdocs.audit.errors import ActionArgsError

FLEET_CREATE: Final = "fleet.create"
ADMIN_ADD: Final = "admin.add"
ADMIN_REMOVE: Final = "admin.remove"
COORDINATOR_ADD: Final = "coordinator.add"
COORDINATOR_REMOVE: Final = "coordinator.remove"
ENROLL_APPROVE: Final = "enroll.approve"
ENROLL_REJECT: Final = "enroll.reject"
AGENT_REVOKE: Final = "agent.revoke"
ARTIFACT_ADD: Final = "artifact.add"
ASSIGN: Final = "assign"
ROLLBACK: Final = "rollback"
META: Final = "meta"

ARTIFACT_KINDS: Final = ("nix-closure", "file", "dir")
MAX_NAME_CHARS: Final = 256
MAX_SELECTOR_CHARS: Final = 1024

ADMIN_CHANGES: Final = frozenset({FLEET_CREATE, ADMIN_ADD, ADMIN_REMOVE})
"""Actions that change the admin roster; agents receive these to verify their assignments."""


class _Field:
    """One argument: a predicate and the words that describe it in error messages."""

    def __init__(self, check: Callable[[Any], bool], description: str) -> None:
        self.check = check
        self.description = description


def _is_name(value: object) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= MAX_NAME_CHARS and value.isprintable()
    )


def _is_selector(value: object) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= MAX_SELECTOR_CHARS and value.isprintable()
    )


def _is_key_list(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(is_hex(item, 32) for item in value)
        and len(set(value)) == len(value)
    )


def _is_base64(value: object) -> bool:
    return isinstance(value, str) and decode_base64(value) is not None


def decode_base64(value: str) -> bytes | None:
    """Strict, canonical standard base64 of non-empty bytes, or None if ``value`` is not."""
    try:  # binascii directly: base64's wrappers add ~20 % to this check of most entries (meta)
        data = binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    if not data or binascii.b2a_base64(data, newline=False) != value.encode():
        return None
    return data


_KEY = _Field(lambda v: is_hex(v, 32), "a 64-character lowercase hex ed25519 public key")
_HASH = _Field(lambda v: is_hex(v, 32), "a 64-character lowercase hex BLAKE3 hash")
_NAMESPACE = _Field(lambda v: is_hex(v, 32), "a 64-character lowercase hex namespace id")
_NAME = _Field(_is_name, f"a printable string of 1 to {MAX_NAME_CHARS} characters")
_SELECTOR = _Field(_is_selector, f"a printable string of 1 to {MAX_SELECTOR_CHARS} characters")
_SIZE = _Field(lambda v: is_int(v) and v >= 0, "a non-negative integer")
_KIND = _Field(lambda v: v in ARTIFACT_KINDS, "one of " + ", ".join(ARTIFACT_KINDS))
_AGENTS = _Field(_is_key_list, "a non-empty list of distinct hex agent keys")
_CHANGE = _Field(_is_base64, "non-empty canonical base64 (one Automerge change)")

SCHEMAS: Final[Mapping[str, Mapping[str, _Field]]] = {
    FLEET_CREATE: {"name": _NAME, "admin": _KEY},
    ADMIN_ADD: {"key": _KEY},
    ADMIN_REMOVE: {"key": _KEY},
    COORDINATOR_ADD: {"key": _KEY, "name": _NAME},
    COORDINATOR_REMOVE: {"key": _KEY},
    ENROLL_APPROVE: {"agent": _KEY, "request": _HASH, "report_ns": _NAMESPACE,
                     "desired_ns": _NAMESPACE, "name": _NAME},
    ENROLL_REJECT: {"agent": _KEY, "request": _HASH},
    AGENT_REVOKE: {"agent": _KEY},
    ARTIFACT_ADD: {"artifact": _HASH, "kind": _KIND, "name": _NAME, "size": _SIZE},
    ASSIGN: {"artifact": _HASH, "agents": _AGENTS, "selector": _SELECTOR},
    ROLLBACK: {"agent": _KEY, "artifact": _HASH},
    META: {"change": _CHANGE},
}


def check_args(action: str, args: Mapping[str, Any]) -> None:
    """Raise ActionArgsError unless ``args`` match the schema of the known ``action``."""
    schema = SCHEMAS.get(action)
    if schema is None:
        raise ActionArgsError(f"unknown action {action!r}")
    if args.keys() != schema.keys():  # checked for every entry: spell out the difference only here
        missing = sorted(schema.keys() - args.keys())
        if missing:
            raise ActionArgsError(f"{action}: missing argument(s) {', '.join(missing)}")
        extra = sorted(args.keys() - schema.keys())
        raise ActionArgsError(f"{action}: unexpected argument(s) {', '.join(extra)}")
    for name, field in schema.items():
        if not field.check(args[name]):
            raise ActionArgsError(f"{action}: argument {name} must be {field.description}")
