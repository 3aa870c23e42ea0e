"""Conflicts and history, derived from the ops fleetdocs indexed (the binding exposes neither).

A conflict is Automerge's own notion: two or more ops hold a value at one key because none of
them overwrote the others (their changes were concurrent). It lasts until a change whose causal
past covers all of them sets or deletes the key, since such an op names them all as preds.
"""

from dataclasses import dataclass

from fleetdocs.meta.causal import CausalIndex, OpRecord
from fleetdocs.meta.schema import FieldKind, Target, field_kind, parse_key, scalar_key


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who made a value and when, as the signed audit entry says."""

    author: bytes
    time_us: int
    entry_hash: bytes

    @classmethod
    def of(cls, record: OpRecord) -> "Attribution":
        return cls(record.source.author, record.source.time_us, record.source.entry_hash)


@dataclass(frozen=True, slots=True)
class ConflictValue:
    value: str
    by: Attribution


@dataclass(frozen=True, slots=True)
class Conflict:
    """Concurrent values of one scalar field; ``values[0]`` is the one every peer shows."""

    target: str
    field: str
    values: tuple[ConflictValue, ...]

    @property
    def winner(self) -> str:
        return self.values[0].value


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One write of a field: action is set/unset (scalar fields) or add/remove (set fields)."""

    action: str
    value: str | None
    by: Attribution


def conflicts(index: CausalIndex) -> list[Conflict]:
    """Every scalar field with more than one visible value, ordered by target and field.

    Set members are left out: concurrent adds of one member both say "present", which is
    agreement, not a conflict.
    """
    found: list[Conflict] = []
    for key in sorted(index.visible_keys()):
        doc_key = parse_key(key)
        records = index.visible(key)
        if doc_key.member is not None or len(records) < 2:
            continue
        values = tuple(ConflictValue(str(record.value), Attribution.of(record)) for record in records)
        found.append(Conflict(str(doc_key.target), doc_key.field, values))
    return found


def history(index: CausalIndex, target: Target, field: str) -> list[HistoryItem]:
    """Every write of the field, ordered by entry time then entry hash (the same on all peers)."""
    if field_kind(target, field) is FieldKind.SCALAR:
        writes = [
            (record, "set" if record.value is not None else "unset", record.value)
            for record in index.ops_at(scalar_key(target, field))
        ]
    else:
        prefix = f"{target}/{field}/"
        writes = [
            (record, "add" if record.value is not None else "remove", key[len(prefix) :])
            for key in index.written_keys()
            if key.startswith(prefix)
            for record in index.ops_at(key)
        ]
    writes.sort(key=lambda write: (write[0].source.time_us, write[0].source.entry_hash, write[0].id))
    return [HistoryItem(action, _text(value), Attribution.of(record)) for record, action, value in writes]


def _text(value: str | bool | None) -> str | None:
    return value if isinstance(value, str) else None
