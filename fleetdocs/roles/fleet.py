"""Fleet life cycle: create a fleet, invite principals, join with a ticket, sync, peers."""

from __future__ import annotations

import os
from typing import Any

from fleetdocs.audit import actions
from fleetdocs.enrollment import enrollment_box
from fleetdocs.errors import UsageError, with_article
from fleetdocs.home import HomeConfig
from fleetdocs.identity import parse_public_hex
from fleetdocs.ledger import Ledger, write_genesis
from fleetdocs.net.tickets import Capability
from fleetdocs.ops import operation
from fleetdocs.scopes import CONTROL, ENROLL, WITNESS
from fleetdocs.session import Session
from fleetdocs.tickets import FleetTicket

# Which capability each role receives for each fleet-wide scope (docs/namespaces.md). Admins
# hold Write on `witness` only so that they can hand it to the coordinators they invite; a
# checkpoint counts only when signed by a rostered coordinator under its own key.
ROLE_CAPABILITIES: dict[str, dict[str, str]] = {
    "admin": {CONTROL: "write", WITNESS: "write", ENROLL: "write"},
    "coordinator": {CONTROL: "read", WITNESS: "write", ENROLL: "write"},
    "agent": {ENROLL: "write"},
}
JOIN_SYNC_TIMEOUT = 5.0


def require_fresh(config: HomeConfig) -> None:
    if config.role is not None:
        raise UsageError(f"this home is already {with_article(config.role)} of fleet "
                         f"{config.fleet_name} ({(config.fleet or '')[:16]}…)")


def admit_ticket(config: HomeConfig, ticket: str, *, agent: bool) -> FleetTicket:
    """Check a ticket against this home before anything is opened or written.

    Says the most specific thing that is wrong: corrupt, meant for another role, meant for
    another fleet than the one this home is in, or this home already belongs to a fleet.
    """
    parsed = FleetTicket.decode(ticket, role="agent" if agent else None)
    if not agent and parsed.role == "agent":
        raise UsageError("this is an agent enrollment ticket: use `fleetdocs agent enroll TICKET`")
    if config.role is not None:
        FleetTicket.decode(ticket, fleet=config.fleet)
    require_fresh(config)
    return parsed


@operation("fleet.create", writes=True)
async def create_fleet(session: Session, name: str) -> dict[str, Any]:
    require_fresh(session.config)
    if not name or not name.isprintable() or len(name) > 256:
        raise UsageError("a fleet name is 1 to 256 printable characters")
    scopes = {scope: await session.node.create_namespace() for scope in (CONTROL, WITNESS, ENROLL)}
    config = session.config
    config.role = "admin"
    config.scopes = {scope: replica.id_hex for scope, replica in scopes.items()}
    config.extra["fleet_secret"] = os.urandom(32).hex()
    genesis = await write_genesis(session, name)
    config.fleet, config.fleet_name = genesis.hash, name
    session.save_config()
    await session.publish_address()
    return {"fleet": genesis.hash, "name": name, "admin": session.identity.public_hex}


@operation("invite", writes=True, roles=("admin",))
async def invite(session: Session, role: str, key: str | None = None, name: str | None = None
                 ) -> dict[str, Any]:
    """A ticket for `role`; with `key`, also record that principal as admin/coordinator."""
    if role not in ROLE_CAPABILITIES:
        raise UsageError(f"cannot invite a {role!r}: choose admin, coordinator or agent")
    recorded = None
    if key is not None:
        if role == "agent":
            raise UsageError("agents are not added by key: they enroll and an admin approves them")
        principal = parse_public_hex(key).hex()
        action, args = ((actions.ADMIN_ADD, {"key": principal}) if role == "admin" else
                        (actions.COORDINATOR_ADD, {"key": principal, "name": name or principal[:12]}))
        recorded = (await Ledger(session).append(action, args)).hash
    capabilities = {}
    for scope, mode in ROLE_CAPABILITIES[role].items():
        replica = await session.scope(scope)
        capability = await replica.share_capability()
        capabilities[scope] = capability if mode == "write" else Capability.read(replica.namespace_id)
    extra: dict[str, Any] = {}
    fleet_secret = bytes.fromhex(session.config.extra["fleet_secret"])
    if role in ("admin", "coordinator"):
        extra["fleet_secret"] = fleet_secret.hex()
    else:  # agents seal their report namespace id to the fleet's enrollment key
        extra["enroll_box"] = bytes(enrollment_box(fleet_secret).public_key).hex()
    peers = [await session.node.addr(), *session.book.addrs()]
    if role == "agent":  # agents reach the fleet through always-on coordinators first
        peers.sort(key=lambda p: session.book.peers.get(p.node_id) is None
                   or session.book.peers[p.node_id].role != "coordinator")
    ticket = FleetTicket(role, session.config.fleet or "", session.config.fleet_name or "",
                         capabilities, tuple(peers[:8]), extra)
    return {"ticket": ticket.encode(), "role": role, "recorded": recorded}


@operation("join", writes=True)
async def join(session: Session, ticket: str) -> dict[str, Any]:
    parsed = admit_ticket(session.config, ticket, agent=False)
    await session.learn_peers(list(parsed.peers))
    config = session.config
    config.role, config.fleet, config.fleet_name = parsed.role, parsed.fleet, parsed.fleet_name
    config.extra.update(parsed.extra)
    for scope, capability in parsed.capabilities.items():
        await session.adopt_scope(scope, capability)
    session.save_config()
    await session.publish_address()
    synced = await session.sync_and_wait(JOIN_SYNC_TIMEOUT)
    await session.repair_missing_content()
    return {"fleet": parsed.fleet, "name": parsed.fleet_name, "role": parsed.role,
            "id": session.identity.public_hex, "synced_with": sorted(synced)}


@operation("sync", roles=("admin", "coordinator", "agent"))
async def sync(session: Session, timeout: float = 10.0) -> dict[str, Any]:
    before = {r.id_hex: len(await r.entries()) for r in await session.replicas()}
    synced = await session.sync_and_wait(timeout)
    await session.repair_missing_content()
    after = {r.id_hex: len(await r.entries()) for r in await session.replicas()}
    names = {ns: scope for scope, ns in session.config.scopes.items()}
    return {
        "peers_total": len(session.book.peers),
        "synced_with": sorted(synced),
        "scopes": {names.get(ns, ns): {"entries": after[ns], "new": after[ns] - before.get(ns, 0)}
                   for ns in after},
    }


@operation("peers")
async def peers(session: Session) -> list[dict[str, Any]]:
    return [record.to_json() for record in session.book.peers.values()]
