"""Edits: each returns the bytes of ONE Automerge change, made against the store's document.

The admin CLI signs those bytes into an audit entry and the change enters every store, this
admin's included, through ``MetaStore.add``; the edit functions never modify the store. ``actor``
is the admin's 32-byte public key (docs/metadata.md says why that is sound).
"""

from fleetdocs.meta.errors import NoConflictError, NothingToChangeError
from fleetdocs.meta.schema import (
    Target,
    check_value,
    member_key,
    parse_target,
    scalar_key,
)
from fleetdocs.meta.store import MetaStore

DEFAULT_SET_FIELD = {"agent": "tags", "artifact": "labels"}


def set_value(store: MetaStore, actor: bytes, target: str, field: str, value: str) -> bytes:
    """Set a scalar field. The put overwrites every value now visible, conflicting ones too."""
    key = scalar_key(parse_target(target), field)
    return _change(store, actor, key, check_value(value), f"{target} {field} is already {value!r}")


def unset(store: MetaStore, actor: bytes, target: str, field: str) -> bytes:
    key = scalar_key(parse_target(target), field)
    return _change(store, actor, key, None, f"{target} {field} is not set")


def resolve(store: MetaStore, actor: bytes, target: str, field: str, value: str) -> bytes:
    """Set a field that is in conflict; its deps cover every conflicting value, so it clears it.

    Refusing a field without a conflict keeps ``resolve`` meaning what the audit log says.
    """
    parsed = parse_target(target)
    key = scalar_key(parsed, field)
    if not store.is_conflicted(parsed, field):
        raise NoConflictError(f"{parsed} {field} has no conflict to resolve")
    return _change(store, actor, key, check_value(value), f"{target} {field} is {value!r}")


def tag_add(store: MetaStore, actor: bytes, target: str, tag: str, field: str | None = None) -> bytes:
    """Add a member to a set field (tags by default for agents, labels for artifacts)."""
    parsed = parse_target(target)
    set_field = _set_field(parsed, field)
    key = member_key(parsed, set_field, tag)
    return _change(store, actor, key, True, f"{target} {set_field} already has {tag!r}")


def tag_remove(store: MetaStore, actor: bytes, target: str, tag: str, field: str | None = None) -> bytes:
    parsed = parse_target(target)
    set_field = _set_field(parsed, field)
    key = member_key(parsed, set_field, tag)
    return _change(store, actor, key, None, f"{target} {set_field} has no {tag!r}")


def _set_field(target: Target, field: str | None) -> str:
    return field if field is not None else DEFAULT_SET_FIELD[target.kind]


def _change(store: MetaStore, actor: bytes, key: str, value: str | bool | None, unchanged: str) -> bytes:
    change = store.make_change(actor, [(key, value)])
    if change is None:
        raise NothingToChangeError(f"nothing to change: {unchanged}")
    return change
