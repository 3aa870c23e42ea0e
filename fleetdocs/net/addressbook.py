"""Peers this home knows, persisted across restarts.

iroh 0.35 forgets peers on restart and `get_sync_peers` returns at most five ids without
addresses, so fleetdocs keeps its own book: every peer's direct addresses, its role when
known, and when it last completed a sync with us. Anti-entropy syncs with everyone in it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from fleetdocs.home import write_private_json
from fleetdocs.net.tickets import PeerAddr


@dataclass
class PeerRecord:
    addr: PeerAddr
    role: str | None = None
    last_contact: float | None = None

    def to_json(self) -> dict[str, object]:
        return {**self.addr.to_json(), "role": self.role, "last_contact": self.last_contact}


class AddressBook:
    def __init__(self, path: Path, own_id: bytes) -> None:
        self.path = path
        self.own_id = own_id
        self.peers: dict[bytes, PeerRecord] = {}
        if path.exists():
            for item in json.loads(path.read_text()):
                addr = PeerAddr.from_json(item)
                self.peers[addr.node_id] = PeerRecord(addr, item.get("role"), item.get("last_contact"))

    def learn(self, addr: PeerAddr, role: str | None = None) -> bool:
        """Record or refresh a peer; returns whether anything changed."""
        if addr.node_id == self.own_id:
            return False
        record = self.peers.get(addr.node_id)
        if record is None:
            self.peers[addr.node_id] = PeerRecord(addr, role)
            return True
        changed = False
        if addr.addrs and set(addr.addrs) != set(record.addr.addrs):
            record.addr = addr
            changed = True
        if role and record.role != role:
            record.role = role
            changed = True
        return changed

    def contacted(self, node_id: bytes, when: float | None = None) -> None:
        record = self.peers.get(node_id)
        if record is not None:
            record.last_contact = when if when is not None else time.time()

    def addrs(self) -> list[PeerAddr]:
        return [record.addr for record in self.peers.values()]

    def role_of(self, node_id: bytes) -> str | None:
        record = self.peers.get(node_id)
        return record.role if record else None

    def save(self) -> None:
        write_private_json(self.path, [r.to_json() for r in self.peers.values()])
