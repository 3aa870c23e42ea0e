"""Enrollment requests on their own, without a network: what `EnrollmentRequest.open` accepts.

Every ticket holder can write and read the enroll namespace, so a request is checked for its
signature, fleet, version and size before its sealed part (report namespace and facts) is
opened with the fleet's enrollment key.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PublicKey, SealedBox

from fleetdocs.canonical import canonical_bytes
from fleetdocs.enrollment import (
    MAX_FACTS_KEYS,
    MAX_REQUEST_BYTES,
    EnrollmentError,
    EnrollmentRequest,
    enrollment_box,
    request_hash,
    sign_request,
)
from fleetdocs.identity import Identity

FLEET = "ab" * 32
SECRET = bytes(range(32))
BOX = enrollment_box(SECRET)
BOX_PUBLIC = bytes(BOX.public_key)
REPORT_NS = "cd" * 32
FACTS = {"hostname": "web-7", "machine_id": "0123456789abcdef", "cpus": 4}
DEVICE = Identity.generate()


def signed(identity: Identity = DEVICE, facts: dict[str, Any] | None = None,
           box_public: bytes = BOX_PUBLIC, fleet: str = FLEET) -> bytes:
    return sign_request(identity, fleet, REPORT_NS, FACTS if facts is None else facts,
                        1_700_000_000_000_000, box_public)


def resigned(raw: bytes, change: dict[str, Any], identity: Identity = DEVICE) -> bytes:
    """`raw` with fields changed and signed again by `identity` (a well-formed forgery)."""
    body = {k: v for k, v in json.loads(raw).items() if k != "sig"} | change
    signature = identity.sign(b"fleetdocs/enroll-request/v3\x00" + canonical_bytes(body))
    return canonical_bytes({**body, "sig": signature.hex()})


def test_a_request_opens_with_the_fleets_enrollment_key() -> None:
    raw = signed()
    request = EnrollmentRequest.open(raw, FLEET, BOX)
    assert (request.agent, request.report_ns, request.facts) == (DEVICE.public_hex, REPORT_NS, FACTS)
    assert request.request_hash == request_hash(raw)


def test_facts_and_report_namespace_are_not_in_the_readable_bytes() -> None:
    raw = signed()
    for secret in (REPORT_NS, "web-7", "0123456789abcdef", "hostname", "machine_id"):
        assert secret.encode() not in raw


def test_a_request_signed_by_another_key_than_it_names_is_refused() -> None:
    forged = resigned(signed(), {}, identity=Identity.generate())
    with pytest.raises(EnrollmentError, match="signature does not verify"):
        EnrollmentRequest.open(forged, FLEET, BOX)


def test_a_request_for_another_fleet_is_refused() -> None:
    with pytest.raises(EnrollmentError, match="another fleet"):
        EnrollmentRequest.open(signed(fleet="ef" * 32), FLEET, BOX)


def test_a_request_sealed_to_another_fleets_key_is_refused() -> None:
    other = bytes(enrollment_box(os.urandom(32)).public_key)
    with pytest.raises(EnrollmentError, match="not sealed to this fleet"):
        EnrollmentRequest.open(signed(box_public=other), FLEET, BOX)


def test_a_request_with_a_damaged_sealed_part_is_refused_even_when_signed() -> None:
    raw = signed()
    sealed = bytearray(bytes.fromhex(json.loads(raw)["sealed"]))
    sealed[-1] ^= 1
    with pytest.raises(EnrollmentError, match="not sealed to this fleet"):
        EnrollmentRequest.open(resigned(raw, {"sealed": sealed.hex()}), FLEET, BOX)


def test_too_many_facts_are_refused() -> None:
    facts = {f"fact{number}": number for number in range(MAX_FACTS_KEYS + 1)}
    with pytest.raises(EnrollmentError, match="sealed part is malformed"):
        EnrollmentRequest.open(signed(facts=facts), FLEET, BOX)


def test_an_oversized_request_is_refused_before_anything_is_parsed() -> None:
    with pytest.raises(EnrollmentError, match="over 16384 bytes"):
        EnrollmentRequest.open(b"{" + b" " * MAX_REQUEST_BYTES + b"}", FLEET, BOX)


def test_a_request_from_before_v3_says_the_device_must_enroll_again() -> None:
    old = canonical_bytes({"v": 2, "fleet": FLEET, "agent": DEVICE.public_hex,
                           "report_ns_sealed": "00" * 80, "facts": FACTS, "time": 1, "sig": "00"})
    with pytest.raises(EnrollmentError, match="of version 2, not 3: the device must enroll again"):
        EnrollmentRequest.open(old, FLEET, BOX)


def test_another_devices_sealed_part_is_refused_in_a_request_signed_by_its_copier() -> None:
    """Y copies X's sealed part into a request Y signs: an approval of Y's request would
    otherwise name X's report namespace, and reach Y in its desired namespace."""
    copier = Identity.generate()
    stolen = json.loads(signed())["sealed"]
    forged = resigned(signed(identity=copier), {"sealed": stolen}, identity=copier)
    with pytest.raises(EnrollmentError, match="sealed part names another device or fleet"):
        EnrollmentRequest.open(forged, FLEET, BOX)


@pytest.mark.parametrize("where", ["outside", "sealed"])
def test_json_nested_past_the_recursion_limit_is_malformed(where: str) -> None:
    nested = b"[" * 5000
    if where == "outside":
        raw = nested
    else:
        sealed = SealedBox(PublicKey(BOX_PUBLIC)).encrypt(nested)
        raw = resigned(signed(), {"sealed": sealed.hex()})
    with pytest.raises(EnrollmentError, match="malformed"):
        EnrollmentRequest.open(raw, FLEET, BOX)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_changed_byte_is_refused_or_changes_nothing_signed(data: st.DataObject) -> None:
    raw = signed()
    position = data.draw(st.integers(0, len(raw) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda byte: byte != raw[position]))
    changed = raw[:position] + bytes([value]) + raw[position + 1:]
    try:
        request = EnrollmentRequest.open(changed, FLEET, BOX)
    except EnrollmentError:
        return
    # Only a change the signature does not cover can pass (hex case in the signature).
    original = EnrollmentRequest.open(raw, FLEET, BOX)
    assert (request.agent, request.report_ns, request.facts, request.time_us) == \
        (original.agent, original.report_ns, original.facts, original.time_us)
