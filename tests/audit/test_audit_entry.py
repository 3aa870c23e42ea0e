"""Entry format: canonical bytes, strict parsing, every field checked, signatures."""

import json
from typing import Any

import blake3
import pytest
from audit_fixtures import body_of, hash_hex, key, meta_args, pub, sign_body
from hypothesis import given
from hypothesis import strategies as st

from fleetdocs.audit import (
    AuditEntry,
    EntryFormatError,
    SignatureError,
    create_fleet,
    sign_entry,
    storage_key,
)
from fleetdocs.audit.canonical import canonical_bytes
from fleetdocs.audit.entry import MAX_ENTRY_BYTES


def _entry(**overrides: Any) -> AuditEntry:
    params: dict[str, Any] = {
        "fleet": hash_hex(7),
        "seq": 2,
        "prev": hash_hex(8),
        "deps": [(pub(key(2)), 4, hash_hex(9))],
        "action": "meta",
        "args": meta_args(),
        "time_us": 1_700_000_000_000_000,
    }
    params.update(overrides)
    return sign_entry(key(1), **params)


def test_round_trip_is_byte_identical_and_hash_is_blake3_of_bytes() -> None:
    entry = _entry()
    again = AuditEntry.from_bytes(entry.to_bytes())
    assert again.to_bytes() == entry.to_bytes()
    assert again == entry
    assert again.clock == {pub(key(1)): 2, pub(key(2)): 4}
    assert again.height == 3 + 5
    assert entry.hash == blake3.blake3(entry.to_bytes()).hexdigest()
    assert entry.to_bytes() == canonical_bytes(json.loads(entry.to_bytes()))
    entry.verify_signature()


def test_genesis_hash_is_fleet_id_and_names_its_admin() -> None:
    genesis = create_fleet(key(0), "lab", time_us=5)
    assert genesis.is_genesis
    assert genesis.fleet is None and genesis.seq == 0 and genesis.prev is None
    assert genesis.args == {"name": "lab", "admin": pub(key(0))}


@pytest.mark.parametrize(
    "mangle",
    [
        lambda text: text.replace('","', '", "', 1),  # whitespace
        lambda text: text + " ",
        lambda text: text.replace('"v":1', '"v":1.0'),  # float
        lambda text: text.replace('"v":1', '"v":true'),
        lambda text: text.replace("{", '{"v":1,', 1),  # duplicate key
        lambda text: text.replace('"action":"meta"', '"action":"\\u006deta"'),  # escape
    ],
)
def test_non_canonical_bytes_are_rejected(mangle: Any) -> None:
    text = _entry().to_bytes().decode()
    mangled = mangle(text)
    assert mangled != text
    with pytest.raises(EntryFormatError):
        AuditEntry.from_bytes(mangled.encode())


def test_reordered_keys_are_rejected() -> None:
    obj = json.loads(_entry().to_bytes())
    reordered = json.dumps(dict(reversed(list(obj.items()))), separators=(",", ":")).encode()
    with pytest.raises(EntryFormatError, match="canonical"):
        AuditEntry.from_bytes(reordered)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("v", 2, "version"),
        ("author", "AB" * 32, "author"),
        ("author", "ab" * 31, "author"),
        ("seq", -1, "seq"),
        ("seq", "2", "seq"),
        ("seq", True, "seq"),
        ("prev", None, "prev"),
        ("prev", "zz" * 32, "prev"),
        ("fleet", None, "genesis"),
        ("fleet", "f" * 63, "fleet"),
        ("deps", {}, "deps"),
        ("deps", [["ab" * 32, 1]], "dep"),
        ("deps", [["ab" * 32, -1, "cd" * 32]], "dep"),
        ("deps", [["cd" * 32, 1, "00" * 32], ["ab" * 32, 1, "00" * 32]], "sorted"),
        ("deps", [["ab" * 32, 1, "00" * 32], ["ab" * 32, 2, "00" * 32]], "sorted"),
        ("time", -5, "time"),
        ("time", 1.5, "non-integer"),
        ("action", "", "action"),
        ("action", 7, "action"),
        ("action", "fleet.create", "genesis"),
        ("args", [], "args"),
        ("args", {"change": 0.5}, "non-integer"),
    ],
)
def test_every_field_is_checked(field: str, value: Any, message: str) -> None:
    body = body_of(_entry())
    body[field] = value
    with pytest.raises(EntryFormatError, match=message):
        AuditEntry.from_bytes(sign_body(key(1), body))


def test_seq_zero_requires_null_prev_and_own_author_is_not_a_dep() -> None:
    body = body_of(_entry())
    body["seq"] = 0
    with pytest.raises(EntryFormatError, match="prev null"):
        AuditEntry.from_bytes(sign_body(key(1), body))
    body = body_of(_entry())
    body["deps"] = [[pub(key(1)), 1, hash_hex(3)]]
    with pytest.raises(EntryFormatError, match="own author"):
        AuditEntry.from_bytes(sign_body(key(1), body))


def test_missing_and_extra_fields_are_rejected() -> None:
    body = body_of(_entry())
    del body["time"]
    with pytest.raises(EntryFormatError, match="missing"):
        AuditEntry.from_bytes(sign_body(key(1), body))
    body = body_of(_entry())
    body["extra"] = 1
    with pytest.raises(EntryFormatError, match="unexpected"):
        AuditEntry.from_bytes(sign_body(key(1), body))
    with pytest.raises(EntryFormatError, match="sig"):
        AuditEntry.from_bytes(canonical_bytes(body_of(_entry())))


def test_oversized_and_non_json_input_is_rejected() -> None:
    with pytest.raises(EntryFormatError, match="limit"):
        AuditEntry.from_bytes(b"{" + b" " * MAX_ENTRY_BYTES + b"}")
    for junk in (b"", b"\xff\xfe", b"[1,2]", b'"x"', b'{"a":NaN}', b'{"a":"\\ud800"}'):
        with pytest.raises(EntryFormatError):
            AuditEntry.from_bytes(junk)


def test_tampered_signature_or_body_fails_verification() -> None:
    entry = _entry()
    flipped_sig = entry.sig[:-1] + ("0" if entry.sig[-1] != "0" else "1")
    body = {**body_of(entry), "sig": flipped_sig}
    with pytest.raises(SignatureError):
        AuditEntry.from_bytes(canonical_bytes(body)).verify_signature()
    body = {**body_of(entry), "time": entry.time_us + 1, "sig": entry.sig}
    with pytest.raises(SignatureError):
        AuditEntry.from_bytes(canonical_bytes(body)).verify_signature()


def test_signature_is_domain_separated() -> None:
    body = body_of(_entry())
    plain_sig = key(1).sign(canonical_bytes(body)).signature.hex()
    with pytest.raises(SignatureError):
        AuditEntry.from_bytes(canonical_bytes({**body, "sig": plain_sig})).verify_signature()


def test_signature_by_another_key_fails() -> None:
    body = body_of(_entry())
    forged = sign_body(key(5), body)  # body names key(1) as author
    with pytest.raises(SignatureError):
        AuditEntry.from_bytes(forged).verify_signature()


@given(
    name=st.text(min_size=1, max_size=40).filter(str.isprintable),
    payload=st.binary(min_size=1, max_size=200),
    time_us=st.integers(min_value=0, max_value=2**63),
)
def test_any_signed_entry_round_trips(name: str, payload: bytes, time_us: int) -> None:
    entry = sign_entry(
        key(3),
        fleet=hash_hex(1),
        seq=0,
        prev=None,
        deps=[],
        action="coordinator.add",
        args={"key": pub(key(4)), "name": name},
        time_us=time_us,
    )
    parsed = AuditEntry.from_bytes(entry.to_bytes())
    assert parsed.args == {"key": pub(key(4)), "name": name}
    assert parsed.time_us == time_us
    parsed.verify_signature()
    meta = _entry(args=meta_args(payload))
    assert AuditEntry.from_bytes(meta.to_bytes()).args == meta_args(payload)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_entry_format_error(raw: bytes) -> None:
    try:
        entry = AuditEntry.from_bytes(raw)
    except EntryFormatError:
        return
    assert entry.to_bytes() == raw


@given(seq_a=st.integers(0, 10**12), seq_b=st.integers(0, 10**12))
def test_storage_keys_of_one_author_never_prefix_each_other(seq_a: int, seq_b: int) -> None:
    a, b = storage_key(pub(key(1)), seq_a), storage_key(pub(key(1)), seq_b)
    assert (a == b) == (seq_a == seq_b)
    assert a == b or not (a.startswith(b) or b.startswith(a))
