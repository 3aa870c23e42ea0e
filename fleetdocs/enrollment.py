"""Enrollment requests (signed by the device's own key) and sealed grants (to that key).

The enroll namespace is writable by anyone holding the enrollment ticket, so nothing in it is
trusted for who wrote it: a request counts only when its signature verifies with the agent
key it names AND the iroh author of the entry is that key (fleetdocs.scopes). Every ticket
holder can also read every request and grant, so what is not theirs to see travels sealed:
a request's report namespace id (a bearer Read capability) and the device's facts (hostname,
machine id, hardware) to the fleet's enrollment key, whose secret half only admins and
coordinators can derive; a grant to the agent's own key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import blake3
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from fleetdocs.canonical import canonical_bytes, decode_json
from fleetdocs.errors import FleetdocsError
from fleetdocs.identity import Identity, verify_key

REQUEST_VERSION = 3
REQUEST_DOMAIN = b"fleetdocs/enroll-request/v3\x00"
ENROLLMENT_BOX_CONTEXT = "fleetdocs 2026 enrollment box v1"
MAX_REQUEST_BYTES = 16 * 1024
MAX_FACTS_KEYS = 64


class EnrollmentError(FleetdocsError):
    """An enrollment request or grant is malformed, forged or for another fleet."""


def enrollment_box(fleet_secret: bytes) -> PrivateKey:
    """The fleet's enrollment key pair, derived from the fleet secret (admins, coordinators)."""
    return PrivateKey(blake3.blake3(fleet_secret,
                                    derive_key_context=ENROLLMENT_BOX_CONTEXT).digest())


def request_hash(raw: bytes) -> str:
    """What an approval or rejection names: the BLAKE3 of the request's bytes."""
    return blake3.blake3(raw).hexdigest()


def sign_request(identity: Identity, fleet: str, report_ns: str, facts: dict[str, Any],
                 time_us: int, box_public: bytes) -> bytes:
    """The bytes of a device's request: its report namespace and facts sealed to the fleet's
    enrollment key, signed by the device's own key.

    The sealed part names the agent and fleet again: anyone can seal to the fleet's key, but
    only this device can seal its own id with its report namespace, so another ticket holder
    cannot pass this sealed part off as its own request (and learn the namespace from the
    approval an admin gave it)."""
    sealed = SealedBox(PublicKey(box_public)).encrypt(canonical_bytes(
        {"agent": identity.public_hex, "fleet": fleet, "report_ns": report_ns, "facts": facts}))
    body = {"v": REQUEST_VERSION, "fleet": fleet, "agent": identity.public_hex,
            "sealed": sealed.hex(), "time": time_us}
    signature = identity.sign(REQUEST_DOMAIN + canonical_bytes(body))
    return canonical_bytes({**body, "sig": signature.hex()})


@dataclass(frozen=True)
class EnrollmentRequest:
    """A request whose signature verified and whose sealed part opened."""

    fleet: str
    agent: str
    report_ns: str
    facts: dict[str, Any]
    time_us: int
    raw: bytes

    @property
    def request_hash(self) -> str:
        return request_hash(self.raw)

    @classmethod
    def open(cls, raw: bytes, fleet: str, box: PrivateKey) -> EnrollmentRequest:
        """Verify a request as read from the enroll namespace, then open its sealed part
        with the fleet's enrollment key; raises EnrollmentError."""
        if len(raw) > MAX_REQUEST_BYTES:
            raise EnrollmentError(f"enrollment request over {MAX_REQUEST_BYTES} bytes")
        try:
            value = decode_json(raw)
            version = value["v"]
        except (ValueError, KeyError, TypeError):
            raise EnrollmentError("malformed enrollment request") from None
        if version != REQUEST_VERSION:
            raise EnrollmentError(f"enrollment request of version {repr(version)[:16]}, not "
                                  f"{REQUEST_VERSION}: the device must enroll again")
        try:
            body = {k: value[k] for k in ("v", "fleet", "agent", "sealed", "time")}
            signature = bytes.fromhex(value["sig"])
            agent = bytes.fromhex(body["agent"])
            sealed = bytes.fromhex(body["sealed"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EnrollmentError("malformed enrollment request") from None
        if not isinstance(body["time"], int):
            raise EnrollmentError("malformed enrollment request")
        if body["fleet"] != fleet:
            raise EnrollmentError("enrollment request is for another fleet")
        try:
            verify_key(agent).verify(REQUEST_DOMAIN + canonical_bytes(body), signature)
        except (CryptoError, FleetdocsError, ValueError):
            raise EnrollmentError("enrollment request signature does not verify") from None
        report_ns, facts = _open_sealed(sealed, box, body["agent"], fleet)
        return cls(fleet, body["agent"], report_ns, facts, body["time"], raw)


def _open_sealed(sealed: bytes, box: PrivateKey, agent: str, fleet: str
                 ) -> tuple[str, dict[str, Any]]:
    try:
        value = decode_json(SealedBox(box).decrypt(sealed))
    except CryptoError:
        raise EnrollmentError("enrollment request is not sealed to this fleet") from None
    except ValueError:
        raise EnrollmentError("enrollment request's sealed part is malformed") from None
    try:
        report_ns, facts = value["report_ns"], value["facts"]
        namespace = bytes.fromhex(report_ns)
        sealed_for = (value["agent"], value["fleet"])
    except (KeyError, TypeError, ValueError):
        raise EnrollmentError("enrollment request's sealed part is malformed") from None
    if sealed_for != (agent, fleet):
        raise EnrollmentError("enrollment request's sealed part names another device or fleet")
    if len(namespace) != 32 or not isinstance(facts, dict) or len(facts) > MAX_FACTS_KEYS:
        raise EnrollmentError("enrollment request's sealed part is malformed")
    return namespace.hex(), facts


def seal_grant(agent_public: bytes, grant: dict[str, Any]) -> bytes:
    recipient = PublicKey(verify_key(agent_public).to_curve25519_public_key().encode())
    return SealedBox(recipient).encrypt(canonical_bytes(grant))


def open_grant(identity: Identity, sealed: bytes) -> dict[str, Any]:
    private = PrivateKey(identity.signing_key.to_curve25519_private_key().encode())
    try:
        value = decode_json(SealedBox(private).decrypt(sealed))
    except (CryptoError, ValueError):
        raise EnrollmentError("grant is not sealed to this agent or is damaged") from None
    if not isinstance(value, dict):
        raise EnrollmentError("malformed grant")
    return value
