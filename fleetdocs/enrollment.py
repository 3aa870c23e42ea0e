"""Enrollment requests (signed by the device's own key) and sealed grants (to that key).

The enroll namespace is writable by anyone holding the enrollment ticket, so nothing in it is
trusted for who wrote it: a request counts only when its signature verifies with the agent
key it names AND the iroh author of the entry is that key (fleetdocs.scopes); a grant is
encrypted to the agent (X25519 from its ed25519 key), so other ticket holders cannot read the
desired-state namespace id it carries, which is a bearer capability.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import blake3
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from fleetdocs.errors import FleetdocsError
from fleetdocs.identity import Identity, verify_key

REQUEST_DOMAIN = b"fleetdocs/enroll-request/v1\x00"
MAX_REQUEST_BYTES = 16 * 1024
MAX_FACTS_KEYS = 64


class EnrollmentError(FleetdocsError):
    """An enrollment request or grant is malformed, forged or for another fleet."""


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class EnrollmentRequest:
    fleet: str
    agent: str
    report_ns: str
    facts: dict[str, Any]
    time_us: int
    raw: bytes

    @property
    def request_hash(self) -> str:
        return blake3.blake3(self.raw).hexdigest()

    @classmethod
    def create(cls, identity: Identity, fleet: str, report_ns: str, facts: dict[str, Any],
               time_us: int) -> EnrollmentRequest:
        body = {"v": 1, "fleet": fleet, "agent": identity.public_hex, "report_ns": report_ns,
                "facts": facts, "time": time_us}
        signature = identity.sign(REQUEST_DOMAIN + _canonical(body))
        raw = _canonical({**body, "sig": signature.hex()})
        return cls.parse(raw, fleet)

    @classmethod
    def parse(cls, raw: bytes, fleet: str) -> EnrollmentRequest:
        """Verify a request as read from the enroll namespace; raises EnrollmentError."""
        if len(raw) > MAX_REQUEST_BYTES:
            raise EnrollmentError(f"enrollment request over {MAX_REQUEST_BYTES} bytes")
        try:
            value = json.loads(raw)
            body = {k: value[k] for k in ("v", "fleet", "agent", "report_ns", "facts", "time")}
            signature = bytes.fromhex(value["sig"])
            agent = bytes.fromhex(body["agent"])
            report_ns = bytes.fromhex(body["report_ns"])
        except (ValueError, KeyError, TypeError):
            raise EnrollmentError("malformed enrollment request") from None
        if body["v"] != 1 or not isinstance(body["facts"], dict) or not isinstance(body["time"], int):
            raise EnrollmentError("malformed enrollment request")
        if len(body["facts"]) > MAX_FACTS_KEYS or len(report_ns) != 32:
            raise EnrollmentError("malformed enrollment request")
        if body["fleet"] != fleet:
            raise EnrollmentError("enrollment request is for another fleet")
        try:
            verify_key(agent).verify(REQUEST_DOMAIN + _canonical(body), signature)
        except (CryptoError, FleetdocsError, ValueError):
            raise EnrollmentError("enrollment request signature does not verify") from None
        return cls(fleet, body["agent"], body["report_ns"], body["facts"], body["time"], raw)


def seal_grant(agent_public: bytes, grant: dict[str, Any]) -> bytes:
    recipient = PublicKey(verify_key(agent_public).to_curve25519_public_key().encode())
    return SealedBox(recipient).encrypt(_canonical(grant))


def open_grant(identity: Identity, sealed: bytes) -> dict[str, Any]:
    private = PrivateKey(identity.signing_key.to_curve25519_private_key().encode())
    try:
        value = json.loads(SealedBox(private).decrypt(sealed))
    except (CryptoError, ValueError):
        raise EnrollmentError("grant is not sealed to this agent or is damaged") from None
    if not isinstance(value, dict):
        raise EnrollmentError("malformed grant")
    return value
