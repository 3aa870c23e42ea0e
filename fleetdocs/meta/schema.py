"""The metadata schema: which targets and fields exist, and how they map to document keys.

The document is one flat Automerge map (see docs/metadata.md for why it is flat): a scalar field
lives at ``<target>/<field>`` and a set member at ``<target>/<field>/<member>`` with value true.
Every key an edit writes and every key an incoming change touches goes through ``parse_key``, so
a document can only ever hold keys this module accepts.
"""

import re
from dataclasses import dataclass
from enum import Enum

from fleetdocs.meta.errors import (
    InvalidValueError,
    UnknownFieldError,
    UnknownTargetError,
)


class FieldKind(Enum):
    SCALAR = "scalar"
    SET = "set"


FIELDS: dict[str, dict[str, FieldKind]] = {
    "agent": {
        "name": FieldKind.SCALAR,
        "owner": FieldKind.SCALAR,
        "location": FieldKind.SCALAR,
        "notes": FieldKind.SCALAR,
        "tags": FieldKind.SET,
        "groups": FieldKind.SET,
    },
    "artifact": {
        "release_notes": FieldKind.SCALAR,
        "labels": FieldKind.SET,
    },
}

MAX_VALUE_CHARS = 8192
_HEX_ID = re.compile(r"[0-9a-f]{2,128}")
_MEMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+@=-]{0,63}")


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """A thing metadata describes: ``agent:<hex id>`` or ``artifact:<hex hash>``."""

    kind: str
    ident: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.ident}"


@dataclass(frozen=True, slots=True)
class DocKey:
    """A parsed document key; ``member`` is set for the members of set fields only."""

    target: Target
    field: str
    member: str | None


def parse_target(text: str) -> Target:
    """Parse ``kind:hex``; hex is lower-cased so one target never gets two spellings."""
    kind, sep, ident = text.partition(":")
    if not sep or kind not in FIELDS:
        raise UnknownTargetError(f"unknown target {text!r}: expected agent:<hex id> or artifact:<hex hash>")
    ident = ident.lower()
    if not _HEX_ID.fullmatch(ident) or len(ident) % 2:
        raise UnknownTargetError(f"target {text!r} does not end in an even-length hex id")
    return Target(kind, ident)


def field_kind(target: Target, field: str) -> FieldKind:
    kinds = FIELDS[target.kind]
    if field not in kinds:
        raise UnknownFieldError(
            f"unknown field {field!r} for {target.kind}: expected one of {', '.join(kinds)}"
        )
    return kinds[field]


def require_kind(target: Target, field: str, kind: FieldKind) -> None:
    """Refuse e.g. ``tag add`` on a scalar field or ``meta set`` on a set field."""
    actual = field_kind(target, field)
    if actual is not kind:
        raise UnknownFieldError(f"{field!r} of {target.kind} is a {actual.value} field")


def check_value(value: str) -> str:
    if not value or len(value) > MAX_VALUE_CHARS or "\x00" in value:
        raise InvalidValueError(
            f"value must be 1 to {MAX_VALUE_CHARS} characters without NUL, got {len(value)}"
        )
    return value


def check_member(member: str) -> str:
    if not _MEMBER.fullmatch(member):
        raise InvalidValueError(
            f"invalid set member {member!r}: 1-64 of A-Z a-z 0-9 . _ : + @ = -, "
            "starting with a letter or digit"
        )
    return member


def scalar_key(target: Target, field: str) -> str:
    require_kind(target, field, FieldKind.SCALAR)
    return f"{target}/{field}"


def member_key(target: Target, field: str, member: str) -> str:
    require_kind(target, field, FieldKind.SET)
    return f"{target}/{field}/{check_member(member)}"


def parse_key(key: str) -> DocKey:
    """Parse a document key, refusing anything an edit function could not have written."""
    target_text, _, rest = key.partition("/")
    target = parse_target(target_text)
    if str(target) != target_text:
        raise UnknownTargetError(f"target {target_text!r} is not in canonical lower case")
    field, _, member = rest.partition("/")
    kind = field_kind(target, field)
    if kind is FieldKind.SCALAR:
        if member or rest != field:
            raise UnknownFieldError(f"scalar field {field!r} has no members: {key!r}")
        return DocKey(target, field, None)
    return DocKey(target, field, check_member(member))
