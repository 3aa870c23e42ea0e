"""Build and parse iroh-docs tickets ourselves, because 0.35 has no namespace-import call.

A DocTicket string is ``"doc" + base32-lower-nopad(postcard(ticket))`` where the postcard
value is: variant 0, the capability (``00 20 <32-byte secret>`` for Write, ``01 <32-byte id>``
for Read), then the list of node addresses to sync with (it must not be empty). Each node
address is its 32-byte id, an optional relay URL and a set of socket addresses. fleetdocs
never puts relay URLs in tickets: its peers are reached by direct address only.
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass

from nacl.signing import SigningKey

from fleetdocs.errors import TicketError
from fleetdocs.varint import encode_uleb128


@dataclass(frozen=True)
class PeerAddr:
    """A peer's node id and the direct socket addresses it listens on ("ip:port", "[v6]:port")."""

    node_id: bytes
    addrs: tuple[str, ...]

    @property
    def node_id_hex(self) -> str:
        return self.node_id.hex()

    def to_json(self) -> dict[str, object]:
        return {"id": self.node_id.hex(), "addrs": list(self.addrs)}

    @classmethod
    def from_json(cls, value: object) -> PeerAddr:
        if not isinstance(value, dict):
            raise TicketError("a peer address must be an object with id and addrs")
        node_hex, addrs = value.get("id"), value.get("addrs")
        if not isinstance(node_hex, str) or not isinstance(addrs, list):
            raise TicketError("a peer address must have a hex id and a list of addrs")
        try:
            node_id = bytes.fromhex(node_hex)
        except ValueError:
            raise TicketError(f"peer id is not hex: {node_hex[:20]!r}") from None
        if len(node_id) != 32:
            raise TicketError("peer id must be 32 bytes")
        for addr in addrs:
            _parse_socket_addr(addr)
        return cls(node_id, tuple(addrs))


@dataclass(frozen=True)
class Capability:
    """Write (holds the namespace secret) or Read (holds only the namespace id)."""

    namespace_id: bytes
    secret: bytes | None = None

    @classmethod
    def write(cls, secret: bytes) -> Capability:
        if len(secret) != 32:
            raise TicketError("a namespace secret is 32 bytes")
        return cls(namespace_id_of(secret), secret)

    @classmethod
    def read(cls, namespace_id: bytes) -> Capability:
        if len(namespace_id) != 32:
            raise TicketError("a namespace id is 32 bytes")
        return cls(namespace_id, None)

    @property
    def writable(self) -> bool:
        return self.secret is not None

    def to_json(self) -> dict[str, str]:
        if self.secret is not None:
            return {"write": self.secret.hex()}
        return {"read": self.namespace_id.hex()}

    @classmethod
    def from_json(cls, value: object) -> Capability:
        if isinstance(value, dict) and len(value) == 1:
            (mode, hex_value), = value.items()
            try:
                raw = bytes.fromhex(hex_value) if isinstance(hex_value, str) else b""
            except ValueError:
                raw = b""
            if mode == "write" and len(raw) == 32:
                return cls.write(raw)
            if mode == "read" and len(raw) == 32:
                return cls.read(raw)
        raise TicketError("malformed capability in ticket")


def namespace_id_of(secret: bytes) -> bytes:
    """A namespace id is the ed25519 public key of the namespace secret."""
    return bytes(SigningKey(secret).verify_key)


def encode_doc_ticket(capability: Capability, peers: list[PeerAddr]) -> str:
    if not peers:
        raise TicketError("an iroh-docs ticket needs at least one peer address")
    out = bytearray(b"\x00")
    if capability.secret is not None:
        out += b"\x00\x20" + capability.secret
    else:
        out += b"\x01" + capability.namespace_id
    out += encode_uleb128(len(peers))
    for peer in peers:
        out += peer.node_id + b"\x00" + encode_uleb128(len(peer.addrs))
        for addr in peer.addrs:
            out += _encode_socket_addr(addr)
    return "doc" + base64.b32encode(bytes(out)).decode().lower().rstrip("=")


def decode_doc_ticket(ticket: str) -> tuple[Capability, list[PeerAddr]]:
    """Parse a DocTicket (used to read back what iroh's own `share` produced)."""
    if not ticket.startswith("doc"):
        raise TicketError("not an iroh-docs ticket")
    body = ticket[3:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError:
        raise TicketError("iroh-docs ticket is not valid base32") from None
    reader = _Reader(raw)
    if reader.byte() != 0:
        raise TicketError("unknown iroh-docs ticket version")
    kind = reader.byte()
    if kind == 0:
        if reader.varint() != 32:
            raise TicketError("bad namespace secret length")
        capability = Capability.write(reader.take(32))
    elif kind == 1:
        capability = Capability.read(reader.take(32))
    else:
        raise TicketError("unknown capability kind")
    peers = []
    for _ in range(reader.varint()):
        node_id = reader.take(32)
        if reader.byte() == 1:
            reader.take(reader.varint())  # relay URL: fleetdocs uses direct addresses only
        addrs = tuple(reader.socket_addr() for _ in range(reader.varint()))
        peers.append(PeerAddr(node_id, addrs))
    return capability, peers



def _parse_socket_addr(addr: object) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    if not isinstance(addr, str) or ":" not in addr:
        raise TicketError(f"bad socket address: {str(addr)[:60]!r}")
    host, _, port_text = addr.rpartition(":")
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
        port = int(port_text)
    except ValueError:
        raise TicketError(f"bad socket address: {addr[:60]!r}") from None
    if not 0 < port < 65536:
        raise TicketError(f"bad port in socket address: {addr[:60]!r}")
    return ip, port


def _encode_socket_addr(addr: str) -> bytes:
    ip, port = _parse_socket_addr(addr)
    tag = b"\x00" if ip.version == 4 else b"\x01"
    return tag + ip.packed + encode_uleb128(port)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise TicketError("iroh-docs ticket is truncated")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise TicketError("iroh-docs ticket has a bad length")

    def socket_addr(self) -> str:
        kind = self.byte()
        if kind == 0:
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(self.take(4))
            return f"{ip}:{self.varint()}"
        if kind == 1:
            ip = ipaddress.IPv6Address(self.take(16))
            return f"[{ip}]:{self.varint()}"
        raise TicketError("iroh-docs ticket has a bad socket address")
