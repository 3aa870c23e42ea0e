"""Parse one Automerge change chunk into its header and ops, without the binding.

The layout follows the Automerge binary format: a chunk header (magic, checksum, type, length),
then the change header (deps, actor, seq, start op, time, message, other actors), then the op
columns. Compressed change chunks (type 2) are inflated first; the hash is always taken over the
uncompressed form, as Automerge does.
"""

import hashlib
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

from fleetdocs.meta.columns import (
    Reader,
    decode_bool_column,
    decode_delta_column,
    decode_str_column,
    decode_uint_column,
    inflate,
)
from fleetdocs.meta.errors import MalformedChangeError
from fleetdocs.varint import encode_uleb128

T = TypeVar("T")

CHUNK_MAGIC = bytes.fromhex("856f4a83")
MAX_CHANGE_BYTES = 64 * 1024
"""The largest change chunk a metadata entry may carry; metadata edits are a few hundred bytes."""

_CHUNK_TYPE_CHANGE = 1
_CHUNK_TYPE_COMPRESSED = 2
_HASH_BYTES = 32
_DEFLATE_BIT = 8


class Action(IntEnum):
    MAKE_MAP = 0
    SET = 1
    MAKE_LIST = 2
    DELETE = 3
    MAKE_TEXT = 4
    INCREMENT = 5
    MAKE_TABLE = 6
    MARK = 7


class ValueType(IntEnum):
    NULL = 0
    FALSE = 1
    TRUE = 2
    UINT = 3
    INT = 4
    FLOAT = 5
    STRING = 6
    BYTES = 7
    COUNTER = 8
    TIMESTAMP = 9


@dataclass(frozen=True, slots=True, order=True)
class OpId:
    """An op id; the field order (counter, then actor) is Automerge's total order of ops."""

    counter: int
    actor: bytes


@dataclass(frozen=True, slots=True)
class OpValue:
    """The value of a set op: its type code (ValueType or an unknown code) and its text if any."""

    type_code: int
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Op:
    """One decoded op.

    ``obj`` None is the root map; ``key`` is a map key, a list element id, or None for the head
    of a list.
    """

    id: OpId
    obj: OpId | None
    key: str | OpId | None
    insert: bool
    action: int
    value: OpValue
    preds: tuple[OpId, ...]


@dataclass(frozen=True, slots=True)
class ParsedChange:
    hash: bytes
    deps: tuple[bytes, ...]
    actor: bytes
    seq: int
    start_op: int
    time_ms: int
    message: str | None
    ops: tuple[Op, ...]


class _Column(IntEnum):
    """Column specifications (id << 4 | type) of the op columns of a change chunk."""

    OBJ_ACTOR = 0x01
    OBJ_COUNTER = 0x02
    KEY_ACTOR = 0x11
    KEY_COUNTER = 0x13
    KEY_STRING = 0x15
    INSERT = 0x34
    ACTION = 0x42
    VALUE_META = 0x56
    VALUE_RAW = 0x57
    PRED_GROUP = 0x70
    PRED_ACTOR = 0x71
    PRED_COUNTER = 0x73


def change_hash(uncompressed_contents: bytes) -> bytes:
    """The hash Automerge gives a change: SHA-256 over type, length and uncompressed contents."""
    header = bytes([_CHUNK_TYPE_CHANGE]) + encode_uleb128(len(uncompressed_contents))
    return hashlib.sha256(header + uncompressed_contents).digest()



def parse_change(data: bytes) -> ParsedChange:
    """Parse exactly one change chunk, checking size, magic, checksum, and every column."""
    if len(data) > MAX_CHANGE_BYTES:
        raise MalformedChangeError(
            f"change chunk is {len(data)} bytes, more than the {MAX_CHANGE_BYTES} byte cap"
        )
    reader = Reader(data, "chunk header")
    if reader.take(4) != CHUNK_MAGIC:
        raise MalformedChangeError("not an Automerge chunk (bad magic bytes)")
    checksum = reader.take(4)
    chunk_type = reader.take(1)[0]
    contents = reader.take(reader.uleb())
    if not reader.at_end():
        raise MalformedChangeError("trailing bytes after the change chunk")
    if chunk_type == _CHUNK_TYPE_COMPRESSED:
        contents = inflate(contents, "compressed change chunk")
    elif chunk_type != _CHUNK_TYPE_CHANGE:
        raise MalformedChangeError(f"chunk type {chunk_type} is not a change")
    digest = change_hash(contents)
    if digest[:4] != checksum:
        raise MalformedChangeError("change chunk checksum mismatch")
    return _parse_contents(contents, digest)


def _parse_contents(contents: bytes, digest: bytes) -> ParsedChange:
    reader = Reader(contents, "change header")
    deps = tuple(reader.take(_HASH_BYTES) for _ in range(reader.uleb()))
    actor = reader.prefixed_bytes()
    seq = reader.uleb()
    start_op = reader.uleb()
    time_ms = reader.sleb()
    message = reader.prefixed_str() or None
    actors = [actor] + [reader.prefixed_bytes() for _ in range(reader.uleb())]
    columns = _read_columns(reader)
    return ParsedChange(
        hash=digest,
        deps=deps,
        actor=actor,
        seq=seq,
        start_op=start_op,
        time_ms=time_ms,
        message=message,
        ops=_decode_ops(columns, actors, start_op),
    )


def _read_columns(reader: Reader) -> dict[int, bytes]:
    specs = [(reader.uleb(), reader.uleb()) for _ in range(reader.uleb())]
    columns: dict[int, bytes] = {}
    for spec, length in specs:
        data = reader.take(length)
        if spec & _DEFLATE_BIT:
            data = inflate(data, f"column {spec}")
        column_spec = spec & ~_DEFLATE_BIT
        if column_spec in columns:
            raise MalformedChangeError(f"column {column_spec} appears twice")
        columns[column_spec] = data
    return columns


def _actor_at(actors: list[bytes], index: int | None, what: str) -> bytes | None:
    if index is None:
        return None
    if index >= len(actors):
        raise MalformedChangeError(f"{what} refers to actor {index}, which the change lacks")
    return actors[index]


def _op_id(actor: bytes | None, counter: int | None, what: str) -> OpId | None:
    if actor is None and counter is None:
        return None
    if actor is None or counter is None:
        raise MalformedChangeError(f"{what} has only half an op id")
    return OpId(counter, actor)


def _decode_values(meta: list[int | None], raw: bytes) -> list[OpValue]:
    reader = Reader(raw, "value column")
    values: list[OpValue] = []
    for entry in meta:
        length, type_code = ((entry or 0) >> 4, (entry or 0) & 0x0F)
        payload = reader.take(length)
        text = None
        if type_code == ValueType.STRING:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError as error:
                raise MalformedChangeError("invalid UTF-8 in a string value") from error
        values.append(OpValue(type_code, text))
    return values


def _padded(rows: list[T], length: int, fill: T, what: str) -> list[T]:
    if len(rows) > length:
        raise MalformedChangeError(f"column {what} has more rows than the action column")
    return rows + [fill] * (length - len(rows))


def _decode_ops(columns: dict[int, bytes], actors: list[bytes], start_op: int) -> tuple[Op, ...]:
    def column(spec: _Column) -> bytes:
        return columns.get(spec, b"")

    actions = decode_uint_column(column(_Column.ACTION), "action")
    if any(action is None for action in actions):
        raise MalformedChangeError("an op has no action")
    count = len(actions)
    obj_actors = _padded(decode_uint_column(column(_Column.OBJ_ACTOR), "obj"), count, None, "obj")
    obj_counters = _padded(decode_uint_column(column(_Column.OBJ_COUNTER), "obj"), count, None, "obj")
    key_actors = _padded(decode_uint_column(column(_Column.KEY_ACTOR), "key"), count, None, "key")
    key_counters = _padded(decode_delta_column(column(_Column.KEY_COUNTER), "key"), count, None, "key")
    key_strings = _padded(decode_str_column(column(_Column.KEY_STRING), "key"), count, None, "key")
    inserts = _padded(decode_bool_column(column(_Column.INSERT), "insert"), count, False, "insert")
    value_meta = _padded(decode_uint_column(column(_Column.VALUE_META), "value"), count, None, "value")
    values = _decode_values(value_meta, column(_Column.VALUE_RAW))
    pred_counts = _padded(decode_uint_column(column(_Column.PRED_GROUP), "pred"), count, None, "pred")
    total_preds = sum(pred or 0 for pred in pred_counts)
    pred_actors = _padded(decode_uint_column(column(_Column.PRED_ACTOR), "pred"), total_preds, None, "pred")
    pred_counters = _padded(
        decode_delta_column(column(_Column.PRED_COUNTER), "pred"), total_preds, None, "pred"
    )
    preds = [
        _op_id(_actor_at(actors, actor, "pred"), counter, "pred")
        for actor, counter in zip(pred_actors, pred_counters, strict=True)
    ]
    if any(pred is None for pred in preds):
        raise MalformedChangeError("a pred is null")

    ops: list[Op] = []
    next_pred = 0
    for index in range(count):
        key: str | OpId | None = key_strings[index]
        if key is None and not (key_actors[index] is None and key_counters[index] == 0):
            key = _op_id(_actor_at(actors, key_actors[index], "key"), key_counters[index], "key")
        pred_count = pred_counts[index] or 0
        op_preds = tuple(p for p in preds[next_pred : next_pred + pred_count] if p is not None)
        next_pred += pred_count
        ops.append(
            Op(
                id=OpId(start_op + index, actors[0]),
                obj=_op_id(_actor_at(actors, obj_actors[index], "obj"), obj_counters[index], "obj"),
                key=key,
                insert=inserts[index],
                action=actions[index] or 0,
                value=values[index],
                preds=op_preds,
            )
        )
    return tuple(ops)
