"""JSON from peers, tickets and files goes through `fleetdocs.canonical.decode_json`, so that
nesting past Python's recursion limit is a malformed input with a one-line error like any
other, not a RecursionError that escapes every `except ValueError`."""

from __future__ import annotations

import base64

import blake3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.public import PublicKey, SealedBox

from fleetdocs.artifacts.errors import ManifestError
from fleetdocs.artifacts.manifest import decode_manifest
from fleetdocs.audit.canonical import parse_canonical
from fleetdocs.audit.errors import AuditError
from fleetdocs.canonical import decode_json
from fleetdocs.enrollment import EnrollmentError, open_grant
from fleetdocs.errors import TicketError
from fleetdocs.identity import Identity
from fleetdocs.tickets import PREFIX, FleetTicket

TOO_DEEP = b"[" * 5000


@given(st.integers(1, 20_000), st.sampled_from(["[", "{\"a\":"]))
def test_any_nesting_depth_parses_or_raises_value_error(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "0" + closer * depth
    try:
        value = decode_json(text)
    except ValueError as exc:
        assert str(exc) == "JSON nested too deeply"
    else:
        assert decode_json(text.encode()) == value


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_value_error(data: bytes) -> None:
    try:
        decode_json(data)
    except ValueError as exc:
        assert "\n" not in str(exc).strip(), "one line, for the caller's message"


def test_audit_objects() -> None:
    with pytest.raises(AuditError, match=r"^entry is not integer-only UTF-8 JSON: JSON nested"):
        parse_canonical(b'{"a":' + TOO_DEEP, max_size=1 << 20, what="entry", error=AuditError)


def test_manifests() -> None:
    with pytest.raises(ManifestError, match=r"^manifest is not UTF-8 JSON: JSON nested too deeply$"):
        decode_manifest(TOO_DEEP)


def test_tickets() -> None:
    ticket = PREFIX + base64.b32encode(TOO_DEEP + blake3.blake3(TOO_DEEP).digest()[:4]
                                       ).decode().lower().rstrip("=")
    with pytest.raises(TicketError, match=r"^ticket content is malformed$"):
        FleetTicket.decode(ticket)


def test_grants() -> None:
    agent = Identity.generate()
    recipient = PublicKey(agent.signing_key.verify_key.to_curve25519_public_key().encode())
    with pytest.raises(EnrollmentError, match=r"^grant is not sealed to this agent or is damaged$"):
        open_grant(agent, SealedBox(recipient).encrypt(TOO_DEEP))
