"""parse_canonical's shortcut for plain input agrees with the full re-encoding check.

Input without whitespace, backslashes or ``-0`` is accepted while it is decoded if every
object's keys strictly increase; everything else is re-encoded and compared. These
properties show the shortcut never accepts what re-encoding would reject, and that results
and error messages are the same as with re-encoding alone.
"""

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fleetdocs.audit.canonical import parse_canonical
from fleetdocs.audit.errors import AuditError
from fleetdocs.canonical import canonical_bytes

LIMIT = 1 << 20
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
objects = st.dictionaries(texts, values, max_size=5)


def by_reencoding(raw: bytes) -> dict[str, Any] | str:
    """The verdict of the full path alone: the object, or the error message."""
    try:
        obj = json.loads(raw.decode("utf-8"), parse_float=_reject, parse_constant=_reject)
    except (UnicodeDecodeError, ValueError):
        return "error"
    if not isinstance(obj, dict):
        return "error"
    try:
        return obj if canonical_bytes(obj) == raw else "error"
    except UnicodeEncodeError:
        return "error"


def _reject(text: str) -> None:
    raise ValueError(f"not an integer: {text}")


def parsed(raw: bytes) -> dict[str, Any] | str:
    try:
        return parse_canonical(raw, max_size=LIMIT, what="entry", error=AuditError)
    except AuditError:
        return "error"


@given(objects)
def test_canonical_bytes_parse_back_to_the_same_object(obj: dict[str, Any]) -> None:
    raw = canonical_bytes(obj)
    assert parsed(raw) == obj == by_reencoding(raw)


@given(objects, st.booleans(), st.booleans(), st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")]))
def test_other_spellings_get_the_verdict_of_reencoding(
        obj: dict[str, Any], sort: bool, ascii_only: bool, separators: tuple[str, str]) -> None:
    raw = json.dumps(obj, sort_keys=sort, ensure_ascii=ascii_only, separators=separators).encode()
    assert parsed(raw) == by_reencoding(raw)


@given(objects, st.data())
def test_mutated_bytes_get_the_verdict_of_reencoding(obj: dict[str, Any], data: st.DataObject) -> None:
    raw = bytearray(canonical_bytes(obj))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(raw)))
        insert = data.draw(st.sampled_from([b"-0", b"0", b" ", b"\\", b'"', b",", b"{}", b"-", b"1"]))
        raw[position:position] = insert
    assert parsed(bytes(raw)) == by_reencoding(bytes(raw))


def test_error_messages_are_those_of_the_full_path() -> None:
    for raw, message in ((b'{"b":1,"a":2}', "not in canonical form"),
                         (b'{"a":-0}', "not in canonical form"),
                         (b'{"a":1.5}', "not integer-only"),
                         (b"[1]", "not a JSON object")):
        try:
            parse_canonical(raw, max_size=LIMIT, what="entry", error=AuditError)
        except AuditError as exc:
            assert message in str(exc), (raw, str(exc))
        else:
            raise AssertionError(f"{raw!r} was accepted")
