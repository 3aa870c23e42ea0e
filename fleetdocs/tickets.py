"""fleetdocs invitation tickets: what one home hands another to join a fleet in a role.

A ticket is ``fleetdocs1-`` + base32 of canonical JSON + a 4-byte BLAKE3 checksum, so that a
truncated or mistyped ticket is reported as such instead of failing somewhere later. It holds
the fleet id, the role it is for, the capabilities (namespace secrets or ids) of that role and
the addresses of peers to sync with. It is a bearer secret: anyone holding it gets the role's
capabilities, so it is only printed when asked for, and written to files with mode 0600.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import blake3

from fleetdocs.canonical import canonical_bytes, decode_json
from fleetdocs.errors import TicketError, with_article
from fleetdocs.net.tickets import Capability, PeerAddr

PREFIX = "fleetdocs1-"
ROLES = ("admin", "coordinator", "agent")
MAX_TICKET_CHARS = 64 * 1024


@dataclass(frozen=True)
class FleetTicket:
    role: str
    fleet: str
    fleet_name: str
    capabilities: dict[str, Capability]
    peers: tuple[PeerAddr, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> str:
        body = {
            "v": 1,
            "role": self.role,
            "fleet": self.fleet,
            "fleet_name": self.fleet_name,
            "caps": {name: cap.to_json() for name, cap in sorted(self.capabilities.items())},
            "peers": [peer.to_json() for peer in self.peers],
            "extra": self.extra,
        }
        raw = canonical_bytes(body)
        raw += blake3.blake3(raw).digest()[:4]
        return PREFIX + base64.b32encode(raw).decode().lower().rstrip("=")

    @classmethod
    def decode(cls, text: str, *, role: str | None = None, fleet: str | None = None) -> FleetTicket:
        """Parse and check a ticket; `role`/`fleet` reject tickets meant for something else."""
        text = text.strip()
        if len(text) > MAX_TICKET_CHARS:
            raise TicketError("ticket is too long")
        if not text.startswith(PREFIX):
            hint = " (this is a raw iroh ticket)" if text.startswith(("doc", "blob", "node")) else ""
            raise TicketError(f"not a fleetdocs ticket{hint}")
        body = text[len(PREFIX) :].upper()
        try:
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        except ValueError:
            raise TicketError("ticket is corrupt (not base32); copy it again") from None
        payload, checksum = raw[:-4], raw[-4:]
        if len(raw) < 5 or blake3.blake3(payload).digest()[:4] != checksum:
            raise TicketError("ticket is truncated or corrupt (checksum mismatch); copy it again")
        try:
            value = decode_json(payload)
            ticket = cls(
                role=_str(value, "role"),
                fleet=_str(value, "fleet"),
                fleet_name=_str(value, "fleet_name"),
                capabilities={k: Capability.from_json(v) for k, v in value["caps"].items()},
                peers=tuple(PeerAddr.from_json(p) for p in value["peers"]),
                extra=dict(value.get("extra", {})),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise TicketError("ticket content is malformed") from None
        if value.get("v") != 1:
            raise TicketError(f"unsupported ticket version {value.get('v')!r}")
        if ticket.role not in ROLES:
            raise TicketError(f"ticket has an unknown role {ticket.role!r}")
        if role is not None and ticket.role != role:
            raise TicketError(f"this is a ticket for {with_article(ticket.role)}, "
                              f"not for {with_article(role)}")
        if fleet is not None and ticket.fleet != fleet:
            raise TicketError(
                f"this ticket is for fleet {ticket.fleet[:16]}…, this home is in fleet {fleet[:16]}…"
            )
        return ticket


def _str(value: dict[str, Any], name: str) -> str:
    item = value[name]
    if not isinstance(item, str):
        raise TypeError(name)
    return item
