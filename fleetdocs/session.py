"""An open home: its lock, its running iroh node, its replicas and its address book.

Exactly one process opens a home at a time (`Home.exclusive`). That process is either the
daemon (`fleetdocs run`) or a CLI command run while no daemon is up; both use this class,
so a command behaves the same whichever process carries it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable

from fleetdocs.canonical import decode_json
from fleetdocs.errors import NetError, TicketError
from fleetdocs.home import ROLES, Home, HomeConfig
from fleetdocs.identity import Identity
from fleetdocs.net.addressbook import AddressBook
from fleetdocs.net.blobs import BlobError, BlobStore
from fleetdocs.net.node import FleetNode, Replica, ReplicaEvent, running_node
from fleetdocs.net.tickets import Capability, PeerAddr
from fleetdocs.scopes import (
    ADDRESS_SCOPES,
    addr_key,
    author_may_write,
    parse_key,
    scope_agent,
    scope_kind,
    synced,
)

log = logging.getLogger(__name__)

DEFAULT_SYNC_INTERVAL = 15.0
RETRY = 1.0
MAX_RETRY = 16.0
CONTENT_REPAIR_PEERS = 3


def sync_interval() -> float:
    return float(os.environ.get("FLEETDOCS_SYNC_INTERVAL", DEFAULT_SYNC_INTERVAL))


class Session:
    def __init__(self, home: Home, config: HomeConfig, identity: Identity, node: FleetNode) -> None:
        self.home = home
        self.config = config
        self.identity = identity
        self.node = node
        self.book = AddressBook(home.path / "peers.json", identity.public)
        self.last_sync: float | None = None
        self.changes = 0  # counts replica events, for watchers (see roles/status.py)
        self.changed = asyncio.Condition()

    @property
    def role(self) -> str:
        return self.config.require_role()

    def save_config(self) -> None:
        self.home.save_config(self.config)

    async def scope(self, name: str) -> Replica:
        namespace = self.config.scopes.get(name)
        if namespace is None:
            raise NetError(f"this {self.config.role or 'home'} holds no capability for scope {name!r}")
        return await self.node.replica(bytes.fromhex(namespace))

    async def adopt_scope(self, name: str, capability: Capability) -> Replica:
        """Import a capability and remember it under `name` in the home's config.

        Publishes this node's address there if its role does, and stops syncing the scopes
        the new one retires (an agent's `enroll`, once it holds `desired`).
        """
        was_synced = synced(self.config.role, self.config.scopes)
        replica = await self.node.import_capability(capability,
                                                    self.peers_for(name, self.book.addrs()))
        self.config.scopes[name] = capability.namespace_id.hex()
        self.save_config()
        for retired in was_synced - synced(self.config.role, self.config.scopes):
            await (await self.scope(retired)).leave()
        if self.config.role is not None:
            await self.publish_address()
        return replica

    async def learn_peers(self, peers: list[PeerAddr], role: str | None = None) -> None:
        changed = False
        for peer in peers:
            if peer.node_id != self.identity.public:
                await self.node.add_peer(peer)
                changed |= self.book.learn(peer, role)
        if changed:
            self.book.save()

    async def replicas(self) -> list[Replica]:
        return [await self.node.replica(bytes.fromhex(ns)) for ns in self.config.scopes.values()]

    def peers_for(self, scope: str, peers: Iterable[PeerAddr]) -> list[PeerAddr]:
        """The peers worth syncing `scope` with: of the agents, only the one it belongs to.

        Agents hold their own scopes and `enroll`, which they sync themselves. Syncing every
        replica with every peer made an admin's or coordinator's work grow with the square of
        the fleet: each agent was asked, every interval, for every other agent's namespaces.
        An agent's scopes also go only to peers known as admins or coordinators: a peer of
        unknown role (a device that has just connected to enroll) was offered every one.
        """
        owner = scope_agent(scope)
        if owner is None:
            return [peer for peer in peers if self.book.role_of(peer.node_id) != "agent"]
        return [peer for peer in peers if peer.node_id_hex == owner
                or self.book.role_of(peer.node_id) in ("admin", "coordinator")]

    async def sync_replicas(self, peers: list[PeerAddr]) -> None:
        """Start a round of every replica with those of `peers` that hold it."""
        live = synced(self.config.role, self.config.scopes)
        for scope in [name for name in self.config.scopes if name in live]:
            replica = await self.scope(scope)
            await replica.sync(self.peers_for(scope, peers))

    async def sync_all(self) -> None:
        """Reconcile every replica with every known peer holding it."""
        await self.sync_replicas(self.book.addrs())
        self.last_sync = time.time()

    async def anti_entropy(self) -> None:
        """One round as a daemon runs it each interval: learn who is where, then sync all.

        Learning comes first: an agent's ticket may name only the admin that invited it,
        and it finds the coordinators serving its desired state in their published
        addresses; without them it would wait for a coordinator to reach it.
        """
        await self.refresh_peer_addrs()
        await self.learn_published_addresses()
        await self.sync_all()
        self.book.save()

    async def sync_and_wait(self, timeout: float, *, any_of: set[str] | None = None) -> set[str]:
        """Sync now and wait until every known peer finished a round (or `timeout`).

        Returns the ids of the peers that completed a sync, which the CLI reports. A peer
        whose round failed (unreachable) is not waited for. Rounds to peers that have not
        answered are re-issued after 1, 2, 4… seconds (at most MAX_RETRY): right after a
        peer restarts, iroh 0.35 sometimes drops the first requests silently (measured: up
        to ~3 s), but re-issuing every second to a busy peer only adds to its load (40
        agents confirming at once kept their coordinator from answering any of them). With
        `any_of`, it returns as soon as one of those peers has synced, and keeps retrying
        them after failed rounds until `timeout`: one failed round is no proof of
        unreachability. It never takes longer than `timeout`, even if iroh is slow to
        accept the requests themselves.
        """
        done: set[str] = set()
        failures: dict[str, str] = {}
        retried = any_of or set()
        due_at: dict[str, float] = {}
        delay: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        with self.node.events.listen() as events:
            while (remaining := deadline - time.monotonic()) > 0:
                waiting = [p for p in self.book.addrs() if p.node_id_hex not in done
                           and (p.node_id_hex in retried or p.node_id_hex not in failures)]
                if not waiting:
                    break
                now = time.monotonic()
                due = [p for p in waiting if due_at.get(p.node_id_hex, 0.0) <= now]
                if due:
                    if not await self._start_rounds(due, remaining):
                        break
                    for peer in due:
                        delay[peer.node_id_hex] = min(MAX_RETRY, 2 * delay.get(peer.node_id_hex, RETRY / 2))
                        due_at[peer.node_id_hex] = now + delay[peer.node_id_hex]
                next_due = min(due_at.get(p.node_id_hex, now) for p in waiting)
                pause = min(deadline - time.monotonic(), max(0.01, next_due - time.monotonic()))
                try:
                    event = await asyncio.wait_for(events.get(), max(0.0, pause))
                except TimeoutError:
                    continue
                self.note_event(event)
                if event.kind == "sync_failed" and event.peer:
                    failures[event.peer] = event.error or "failed"
                if event.kind == "sync_finished" and event.peer:
                    done.add(event.peer)
                    failures.pop(event.peer, None)
                    await self.learn_published_addresses()
                    if any_of is not None and event.peer in any_of:
                        break
        if any_of and not done & any_of:
            log.info("none of %s synced within %g s (%s)", sorted(p[:12] for p in any_of), timeout,
                     "; ".join(f"{p[:12]}…: {failures.get(p, 'no answer')}" for p in sorted(any_of)))
        self.last_sync = time.time()
        self.book.save()
        return done

    async def _start_rounds(self, peers: list[PeerAddr], within: float) -> bool:
        """Ask iroh to sync every replica with `peers`; False if it did not take them in time."""
        try:
            async with asyncio.timeout(within):
                await self.sync_replicas(peers)
        except TimeoutError:
            log.warning("iroh did not start sync rounds within %g s", within)
            return False
        return True

    def note_event(self, event: ReplicaEvent) -> None:
        if event.kind == "sync_finished" and event.peer:
            self.book.contacted(bytes.fromhex(event.peer))

    async def notify_change(self) -> None:
        self.changes += 1
        async with self.changed:
            self.changed.notify_all()

    async def refresh_peer_addrs(self) -> None:
        """Learn the addresses of peers that reached us (e.g. one that restarted or joined).

        Agents only refresh peers they already know. Other agents reach them as gossip
        neighbours in the shared enrollment namespace; adopted as peers, they made every
        agent sync with every other each interval, so an idle agent's cost grew with the
        fleet (measured: 0.6 % of a core with 2 agents, 4 % with 15).
        """
        known_only = self.config.role == "agent"
        for node_id, addrs in (await self.node.connected_peers()).items():
            peer = PeerAddr(bytes.fromhex(node_id), tuple(sorted(addrs)))
            if addrs and (peer.node_id in self.book.peers or not known_only):
                await self.learn_peers([peer])

    async def repair_missing_content(self) -> int:
        """Fetch entry content iroh-docs failed to download, in every replica we hold.

        Returns how many blobs arrived. Peers are tried one round only: the next anti-entropy
        round tries again.
        """
        missing = [item for replica in await self.replicas()
                   for item in await replica.missing_content()]
        return await self.fetch_content(missing)

    async def fetch_content(self, missing: Iterable[tuple[str, bytes]]) -> int:
        """Fetch (content hash, author) blobs, asking each author first; how many arrived.

        iroh-docs downloads an entry's content once, from the peer that delivered the entry;
        when that peer did not have it yet (it was itself still fetching), nobody retries.
        """
        store = BlobStore(self.node)
        arrived = 0
        for blob, author in missing:
            peers = sorted(self.book.addrs(), key=lambda peer: peer.node_id != author)
            try:
                if await store.download(blob, peers[:CONTENT_REPAIR_PEERS], rounds=1):
                    arrived += 1
            except BlobError as exc:
                log.debug("content %s… still missing: %s", blob[:12], exc)
        return arrived

    async def publish_address(self) -> None:
        """Write this node's address where the principals that must reach it can read it.

        Each scope is written again only when the address it holds is out of date.
        """
        addrs = sorted((await self.node.addr()).addrs)
        value = json.dumps({"addrs": addrs, "role": self.config.role}).encode()
        kinds = ADDRESS_SCOPES.get(self.config.role or "", ())
        published: dict[str, list[str]] = self.config.extra.setdefault("published_in", {})
        stale = [name for name in self.config.scopes
                 if scope_kind(name) in kinds and published.get(name) != addrs]
        for name in stale:
            await (await self.scope(name)).put(addr_key(self.identity.public_hex), value)
            published[name] = addrs
        if stale:
            self.save_config()

    async def learn_published_addresses(self) -> None:
        """Learn peers from the self-authored `addr/<id>` entries in every replica we hold."""
        for name, namespace in self.config.scopes.items():
            replica = await self.node.replica(bytes.fromhex(namespace))
            for stored in await replica.entries(b"addr/"):
                parts = parse_key(stored.key)
                if not author_may_write(scope_kind(name), parts, stored.author_hex).accepted:
                    continue
                try:
                    value = decode_json(stored.value)
                    peer = PeerAddr.from_json({"id": stored.author_hex, "addrs": value["addrs"]})
                except (ValueError, KeyError, TypeError, TicketError):
                    continue
                role = value.get("role") if value.get("role") in ROLES else None
                await self.learn_peers([peer], role)


def bind_addresses(config: HomeConfig) -> tuple[str, str]:
    """Reuse the ports this home had, so peers' address books stay valid across restarts."""
    host = os.environ.get("FLEETDOCS_BIND_HOST", config.extra.get("bind_host", "0.0.0.0"))
    host6 = "::1" if host.startswith("127.") else "::"
    return (f"{host}:{int(config.extra.get('port', 0))}",
            f"[{host6}]:{int(config.extra.get('port6', 0))}")


@contextlib.asynccontextmanager
async def open_session(home: Home, *, create_key: bool = False) -> AsyncIterator[Session]:
    with home.exclusive():
        identity = home.identity(create=create_key)
        config = home.load_config()
        try:
            node_cm = running_node(home.store_path, identity, *bind_addresses(config))
            node = await node_cm.__aenter__()
        except NetError:
            if not config.extra.get("port") and not config.extra.get("port6"):
                raise
            config.extra.pop("port", None)  # an old port is taken: start on fresh ones
            config.extra.pop("port6", None)
            node_cm = running_node(home.store_path, identity, *bind_addresses(config))
            node = await node_cm.__aenter__()
        try:
            session = Session(home, config, identity, node)
            ports = _ports(await node.addr())
            if ports != {k: config.extra.get(k) for k in ports}:
                config.extra.update(ports)
                session.save_config()
            for peer in session.book.addrs():
                await node.add_peer(peer)
            if config.role is not None:
                await session.publish_address()
            yield session
        finally:
            await node_cm.__aexit__(None, None, None)


def _ports(addr: PeerAddr) -> dict[str, int]:
    """The IPv4 ("port") and IPv6 ("port6") ports the node listens on."""
    ports: dict[str, int] = {}
    for socket_addr in addr.addrs:
        name = "port6" if socket_addr.startswith("[") else "port"
        ports.setdefault(name, int(socket_addr.rpartition(":")[2]))
    return ports
