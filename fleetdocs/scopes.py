"""The namespace map: which iroh-docs namespaces a fleet has, who may write which keys.

iroh-docs capabilities decide who can write a namespace at all (Write = its secret); these
rules decide, per key, whose entries a reader accepts, because a namespace writable by
several principals (e.g. `enroll`, writable by every ticket holder) must not let one of them
speak for another. docs/namespaces.md explains the table; this module is its single source.

Keys are built only by `key()`: path components joined by "/" and terminated by NUL. No
component may contain "/" or NUL, so no key can be a prefix of another key, and iroh's
prefix-destructive writes (writing `a/b` deletes the same author's `a/b…` entries) never
remove anything but the entry being replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import blake3

CONTROL = "control"
WITNESS = "witness"
ENROLL = "enroll"
DESIRED = "desired"
REPORT = "report"

TERMINATOR = b"\x00"


def key(*parts: str) -> bytes:
    for part in parts:
        if not part or "/" in part or "\x00" in part:
            raise ValueError(f"invalid key component {part!r}")
    return "/".join(parts).encode() + TERMINATOR


def parse_key(raw: bytes) -> tuple[str, ...] | None:
    """Split a key written by `key()`; None for anything else (foreign or malformed keys)."""
    if not raw.endswith(TERMINATOR) or raw.count(TERMINATOR) != 1:
        return None
    try:
        parts = tuple(raw[:-1].decode().split("/"))
    except UnicodeDecodeError:
        return None
    return parts if all(parts) else None


def audit_key(author_hex: str, seq: int) -> bytes:
    return key("audit", author_hex, f"{seq:016x}")


def checkpoint_key(coordinator_hex: str, counter: int) -> bytes:
    return key("checkpoint", coordinator_hex, f"{counter:016x}")


def request_key(agent_hex: str) -> bytes:
    return key("request", agent_hex)


def grant_key(agent_hex: str) -> bytes:
    return key("grant", agent_hex)


def desired_entry_key(entry_hash_hex: str) -> bytes:
    return key("entry", entry_hash_hex)


def report_key(kind: str, seq: int | None = None) -> bytes:
    return key(kind) if seq is None else key(kind, f"{seq:016x}")


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str = ""


def author_may_write(scope: str, parts: tuple[str, ...] | None, author_hex: str) -> Verdict:
    """May `author_hex` write the key `parts` in `scope`? Decided from the key alone.

    Keys that name a principal may only be written by that principal. Entries whose
    content must additionally come from an admin (audit entries, assignments) carry
    their own signatures and are checked again by fleetdocs.audit.
    """
    if parts is None:
        return Verdict(False, "key is not a fleetdocs key")
    kind = parts[0]
    if kind == "addr":  # a principal's own network address, in any scope it can write
        return _named_by_author(parts, 2, author_hex)
    named = {
        (CONTROL, "audit"): 3,
        (WITNESS, "checkpoint"): 3,
        (ENROLL, "request"): 2,
    }
    if (scope, kind) in named:
        return _named_by_author(parts, named[(scope, kind)], author_hex)
    if scope == ENROLL and kind == "grant" and len(parts) == 2:
        return Verdict(True)  # sealed to the agent; content is checked by whoever opens it
    if scope == DESIRED and kind == "entry" and len(parts) == 2:
        return Verdict(True)  # content is a self-authenticating audit entry
    if scope == REPORT and kind in {"status", "heartbeat", "facts", "generation"}:
        return Verdict(True)  # the caller checks author == the report scope's agent
    return Verdict(False, f"unexpected key {'/'.join(parts)[:60]!r} in {scope}")


def _named_by_author(parts: tuple[str, ...], length: int, author_hex: str) -> Verdict:
    if len(parts) != length:
        return Verdict(False, f"malformed {parts[0]} key")
    if parts[1] != author_hex:
        return Verdict(False, f"{parts[0]} entry for {parts[1][:12]}… written by {author_hex[:12]}…")
    return Verdict(True)


def addr_key(principal_hex: str) -> bytes:
    return key("addr", principal_hex)


# Where each role publishes its address, so that the principals who must reach it can read it.
# Coordinators publish into every agent's desired scope too: an agent that holds its grant
# stops syncing `enroll` (see `synced`) and finds its coordinators there.
ADDRESS_SCOPES = {"admin": (CONTROL,), "coordinator": (WITNESS, ENROLL, DESIRED),
                  "agent": (REPORT,)}


def synced(role: str | None, held: Iterable[str]) -> set[str]:
    """Of the scopes `held` (config names), those a principal of `role` keeps syncing.

    An agent needs `enroll` only until its grant arrives. Staying in it kept every agent in
    one gossip swarm with all others, so an idle agent's cost grew with the fleet (measured
    with 15 agents: 1.8 % of a core each while in it, 0.6 % after leaving).
    """
    names = set(held)
    if role == "agent" and DESIRED in names:
        names.discard(ENROLL)
    return names


def desired_scope(agent_hex: str) -> str:
    """Config name of an agent's desired-state scope, as held by coordinators."""
    return f"{DESIRED}:{agent_hex}"


def report_scope(agent_hex: str) -> str:
    """Config name of an agent's report scope, as held by admins and coordinators."""
    return f"{REPORT}:{agent_hex}"


def scope_kind(name: str) -> str:
    """The namespace kind a scope's config name holds: `desired:<id>` and `desired` -> desired."""
    return name.partition(":")[0]


def scope_agent(name: str) -> str | None:
    """The agent a per-agent scope name (`desired:<id>`, `report:<id>`) belongs to, else None."""
    kind, separator, agent = name.partition(":")
    return agent if separator and kind in (DESIRED, REPORT) else None


def desired_secret(fleet_secret: bytes, agent_id: bytes) -> bytes:
    """The Write secret of an agent's desired-state namespace.

    Derived, so that every coordinator (and admin) computes the same namespace for an agent
    without coordinating, and writes into it; the agent is only ever given its id (Read).
    """
    fleet_key = blake3.blake3(
        fleet_secret, derive_key_context="fleetdocs 2026 desired-state namespace v1"
    ).digest()
    return blake3.blake3(agent_id, key=fleet_key).digest()

