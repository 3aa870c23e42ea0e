"""The change-chunk parser agrees with the binding and refuses bad bytes with one error class."""

import json
from pathlib import Path

import pytest
from automerge.core import ROOT, Document, ScalarType, ScalarValue
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetdocs.meta.chunk import MAX_CHANGE_BYTES, Action, ValueType, parse_change
from fleetdocs.meta.errors import MalformedChangeError

JS_CHANGES = json.loads((Path(__file__).parent / "fixtures" / "js_changes.json").read_text())

keys = st.text(alphabet="abcdefgh/:", min_size=1, max_size=12)
scalars = st.one_of(
    st.text(max_size=40).map(lambda text: (ScalarType.Str, text)),
    st.booleans().map(lambda flag: (ScalarType.Boolean, flag)),
    st.integers(min_value=-(2**40), max_value=2**40).map(lambda n: (ScalarType.Int, n)),
)
writes = st.lists(st.tuples(keys, st.one_of(st.none(), scalars)), min_size=1, max_size=30)


Write = tuple[str, tuple[ScalarType, ScalarValue] | None]


def binding_changes(batches: list[list[Write]]) -> Document:
    document = Document(actor_id=b"\x07" * 32)
    for batch in batches:
        with document.transaction() as transaction:
            for key, value in batch:
                if value is None:
                    transaction.delete(ROOT, key)
                else:
                    transaction.put(ROOT, key, value[0], value[1])
    return document


@settings(max_examples=60, deadline=None)
@given(st.lists(writes, min_size=1, max_size=4))
def test_parse_agrees_with_the_binding(batches: list[list[Write]]) -> None:
    document = binding_changes(batches)
    for change in document.get_changes([]):
        parsed = parse_change(change.bytes)
        assert parsed.hash == change.hash
        assert parsed.deps == tuple(change.deps)
        assert (parsed.actor, parsed.seq, parsed.start_op) == (
            change.actor_id,
            change.seq,
            change.start_op,
        )
        assert len(parsed.ops) == len(change)
        assert [op.id.counter for op in parsed.ops] == list(
            range(change.start_op, change.start_op + len(change))
        )
    final = {key: value for batch in batches for key, value in batch}
    last_ops = {op.key: op for c in document.get_changes([]) for op in parse_change(c.bytes).ops}
    for key, value in final.items():
        if value is None:
            assert key not in last_ops or last_ops[key].action == Action.DELETE
            continue
        op = last_ops[key]
        assert op.action == Action.SET
        if value[0] is ScalarType.Str:
            assert op.value.text == value[1]


def test_compressed_chunk_parses_to_the_binding_hash() -> None:
    document = binding_changes([[(f"key{i}", (ScalarType.Str, "x" * 40)) for i in range(500)]])
    change = document.get_last_local_change()
    assert change is not None
    assert change.bytes[8] == 2, "the binding compresses a change this large"
    parsed = parse_change(change.bytes)
    assert parsed.hash == change.hash
    assert len(parsed.ops) == 500


def test_js_counter_change_is_decoded_with_its_counter_ops() -> None:
    parsed = parse_change(bytes.fromhex(JS_CHANGES["counter"]))
    assert any(op.value.type_code == ValueType.COUNTER for op in parsed.ops)
    assert any(op.action == Action.INCREMENT for op in parsed.ops)
    assert parsed.actor == bytes.fromhex(JS_CHANGES["actor"])


def test_js_text_change_has_ops_inside_a_text_object() -> None:
    parsed = parse_change(bytes.fromhex(JS_CHANGES["text"]))
    assert parsed.ops[0].action == Action.MAKE_TEXT
    text_id = parsed.ops[0].id
    inside = parsed.ops[1:]
    assert all(op.obj == text_id and op.insert for op in inside)
    assert "".join(op.value.text or "" for op in inside) == "a text object"


def a_change() -> bytes:
    change = binding_changes([[("k", (ScalarType.Str, "v"))]]).get_last_local_change()
    assert change is not None
    return change.bytes


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda data: b"\x00" + data[1:], "bad magic"),
        (lambda data: data + b"\x00", "trailing bytes"),
        (lambda data: data[:8] + b"\x00" + data[9:], "chunk type 0 is not a change"),
        (lambda data: data[:-1] + bytes([data[-1] ^ 1]), "checksum mismatch"),
        (lambda data: b"\x85oJ\x83" + b"\x00" * (MAX_CHANGE_BYTES), "byte cap"),
    ],
)
def test_bad_chunks_are_refused_with_a_reason(mangle: object, message: str) -> None:
    with pytest.raises(MalformedChangeError, match=message):
        parse_change(mangle(a_change()))  # type: ignore[operator]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_truncation_or_corruption_raises_only_malformed(data: st.DataObject) -> None:
    original = a_change()
    cut = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    position = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    corrupted = bytearray(original)
    corrupted[position] ^= flip
    for candidate in (original[:cut], bytes(corrupted)):
        with pytest.raises(MalformedChangeError):
            parse_change(candidate)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser(junk: bytes) -> None:
    try:
        parse_change(junk)
    except MalformedChangeError as error:
        assert str(error)
