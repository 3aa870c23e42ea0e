"""Enrollment requests (signed by the device's own key) and sealed grants (to that key).

The enroll namespace is writable by anyone holding the enrollment ticket, so nothing in it is
trusted for who wrote it: a request counts only when its signature verifies with the agent
key it names AND the iroh author of the entry is that key (fleetdocs.scopes). Namespace ids
are bearer Read capabilities, and every ticket holder can read every request and grant, so
both ids travel sealed: a request's report namespace id to the fleet's enrollment key (whose
secret half only admins and coordinators can derive), a grant to the agent's own key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import blake3
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from fleetdocs.canonical import canonical_bytes
from fleetdocs.errors import FleetdocsError
from fleetdocs.identity import Identity, verify_key

REQUEST_DOMAIN = b"fleetdocs/enroll-request/v2\x00"
ENROLLMENT_BOX_CONTEXT = "fleetdocs 2026 enrollment box v1"
SEALED_NAMESPACE_BYTES = 32 + 32 + 16  # id + ephemeral public key + MAC (NaCl sealed box)
MAX_REQUEST_BYTES = 16 * 1024
MAX_FACTS_KEYS = 64


class EnrollmentError(FleetdocsError):
    """An enrollment request or grant is malformed, forged or for another fleet."""



def enrollment_box(fleet_secret: bytes) -> PrivateKey:
    """The fleet's enrollment key pair, derived from the fleet secret (admins, coordinators)."""
    return PrivateKey(blake3.blake3(fleet_secret,
                                    derive_key_context=ENROLLMENT_BOX_CONTEXT).digest())


@dataclass(frozen=True)
class EnrollmentRequest:
    fleet: str
    agent: str
    sealed_report_ns: bytes
    facts: dict[str, Any]
    time_us: int
    raw: bytes

    @property
    def request_hash(self) -> str:
        return blake3.blake3(self.raw).hexdigest()

    def report_ns(self, box: PrivateKey) -> str:
        """Open the report namespace id with the fleet's enrollment key."""
        try:
            namespace = SealedBox(box).decrypt(self.sealed_report_ns)
        except CryptoError:
            raise EnrollmentError("request's report namespace is not sealed to this fleet") \
                from None
        if len(namespace) != 32:
            raise EnrollmentError("request's sealed report namespace is malformed")
        return namespace.hex()

    @classmethod
    def create(cls, identity: Identity, fleet: str, report_ns: str, facts: dict[str, Any],
               time_us: int, box_public: bytes) -> EnrollmentRequest:
        sealed = SealedBox(PublicKey(box_public)).encrypt(bytes.fromhex(report_ns))
        body = {"v": 2, "fleet": fleet, "agent": identity.public_hex,
                "report_ns_sealed": sealed.hex(), "facts": facts, "time": time_us}
        signature = identity.sign(REQUEST_DOMAIN + canonical_bytes(body))
        raw = canonical_bytes({**body, "sig": signature.hex()})
        return cls.parse(raw, fleet)

    @classmethod
    def parse(cls, raw: bytes, fleet: str) -> EnrollmentRequest:
        """Verify a request as read from the enroll namespace; raises EnrollmentError."""
        if len(raw) > MAX_REQUEST_BYTES:
            raise EnrollmentError(f"enrollment request over {MAX_REQUEST_BYTES} bytes")
        try:
            value = json.loads(raw)
            body = {k: value[k] for k in ("v", "fleet", "agent", "report_ns_sealed", "facts",
                                          "time")}
            signature = bytes.fromhex(value["sig"])
            agent = bytes.fromhex(body["agent"])
            sealed = bytes.fromhex(body["report_ns_sealed"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EnrollmentError("malformed enrollment request") from None
        if body["v"] != 2 or not isinstance(body["facts"], dict) or not isinstance(body["time"], int):
            raise EnrollmentError("malformed enrollment request")
        if len(body["facts"]) > MAX_FACTS_KEYS or len(sealed) != SEALED_NAMESPACE_BYTES:
            raise EnrollmentError("malformed enrollment request")
        if body["fleet"] != fleet:
            raise EnrollmentError("enrollment request is for another fleet")
        try:
            verify_key(agent).verify(REQUEST_DOMAIN + canonical_bytes(body), signature)
        except (CryptoError, FleetdocsError, ValueError):
            raise EnrollmentError("enrollment request signature does not verify") from None
        return cls(fleet, body["agent"], sealed, body["facts"], body["time"], raw)


def seal_grant(agent_public: bytes, grant: dict[str, Any]) -> bytes:
    recipient = PublicKey(verify_key(agent_public).to_curve25519_public_key().encode())
    return SealedBox(recipient).encrypt(canonical_bytes(grant))


def open_grant(identity: Identity, sealed: bytes) -> dict[str, Any]:
    private = PrivateKey(identity.signing_key.to_curve25519_private_key().encode())
    try:
        value = json.loads(SealedBox(private).decrypt(sealed))
    except (CryptoError, ValueError):
        raise EnrollmentError("grant is not sealed to this agent or is damaged") from None
    if not isinstance(value, dict):
        raise EnrollmentError("malformed grant")
    return value
