"""Shared builders for the audit tests: deterministic keys and multi-admin scenarios."""

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from nacl.signing import SigningKey

from fleetdocs.audit import AuditEntry, AuditLog, create_fleet, next_entry, sign_entry
from fleetdocs.audit.canonical import canonical_bytes
from fleetdocs.audit.entry import SIGNATURE_DOMAIN


def key(index: int) -> SigningKey:
    """Deterministic signing key number ``index`` (tests must be reproducible)."""
    return SigningKey(bytes([index + 1]) * 32)


def pub(signing_key: SigningKey) -> str:
    return signing_key.verify_key.encode().hex()


def hash_hex(index: int) -> str:
    return f"{index:064x}"


def meta_args(payload: bytes = b"change") -> dict[str, str]:
    return {"change": base64.b64encode(payload).decode()}


def sign_body(signing_key: SigningKey, body: Mapping[str, Any]) -> bytes:
    """Sign an arbitrary body dict (possibly malformed) exactly as entries are signed."""
    signature = signing_key.sign(SIGNATURE_DOMAIN + canonical_bytes(body)).signature
    return canonical_bytes({**body, "sig": signature.hex()})


def body_of(entry: AuditEntry) -> dict[str, Any]:
    """The signed body of ``entry`` as a mutable dict (for building altered variants)."""
    return {
        "v": 1,
        "fleet": entry.fleet,
        "author": entry.author,
        "seq": entry.seq,
        "prev": entry.prev,
        "deps": [list(dep) for dep in entry.deps],
        "time": entry.time_us,
        "action": entry.action,
        "args": dict(entry.args),
    }


def resign(signing_key: SigningKey, entry: AuditEntry, **changes: Any) -> AuditEntry:
    """A sibling of ``entry`` (same chain position) with some fields changed, validly signed."""
    body = {**body_of(entry), **changes}
    return sign_entry(
        signing_key,
        fleet=body["fleet"],
        seq=body["seq"],
        prev=body["prev"],
        deps=[tuple(dep) for dep in body["deps"]],
        action=body["action"],
        args=body["args"],
        time_us=body["time"],
    )


class Scenario:
    """A fleet being built by several admins, each writing on top of its own view.

    ``act`` appends to the actor's view only; ``sync`` copies entries between views, so
    concurrency is whatever the test makes of it.
    """

    def __init__(self, name: str = "lab") -> None:
        self.founder = key(0)
        self.genesis = create_fleet(self.founder, name, time_us=0)
        self.fleet_id = self.genesis.hash
        self.entries: list[AuditEntry] = [self.genesis]
        self._views: dict[str, AuditLog] = {}
        self._time = 0

    def view(self, signing_key: SigningKey) -> AuditLog:
        author = pub(signing_key)
        if author not in self._views:
            self._views[author] = AuditLog(self.fleet_id)
            self._views[author].observe(self.genesis.raw)
        return self._views[author]

    def act(self, signing_key: SigningKey, action: str, args: Mapping[str, Any]) -> AuditEntry:
        self._time += 1
        view = self.view(signing_key)
        entry = next_entry(view, signing_key, action, args, time_us=self._time)
        view.observe(entry.raw)
        self.entries.append(entry)
        return entry

    def sync(self, *signing_keys: SigningKey) -> None:
        """Make the views of ``signing_keys`` hold the union of what they hold."""
        views = [self.view(k) for k in signing_keys]
        union = {h: raw for v in views for h, raw in v.raws().items()}
        for v in views:
            v.observe_all(union.values())

    def add_admin(self, by: SigningKey, new: SigningKey) -> AuditEntry:
        entry = self.act(by, "admin.add", {"key": pub(new)})
        self.sync(by, new)
        return entry

    def log(self, entries: Iterable[AuditEntry] | None = None) -> AuditLog:
        """A fresh log holding ``entries`` (default: every entry made so far)."""
        log = AuditLog(self.fleet_id)
        log.observe_all(e.raw for e in (self.entries if entries is None else entries))
        return log
