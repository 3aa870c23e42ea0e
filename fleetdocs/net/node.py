"""The iroh node: the only place (with the rest of fleetdocs.net) that imports `iroh`.

Facts from iroh 0.35 that shape this module (see docs/design.md):
- the node key is not persisted by iroh: we pass the principal's seed on every start;
- one event loop per process, registered with uniffi before any call;
- a process that exits without `shutdown()` aborts, so `running_node` always shuts down;
- subscription callbacks run on the docs actor: they must only enqueue, never call iroh;
- there is no namespace import call: capabilities are imported by joining a ticket we build.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import blake3
import iroh
from iroh import iroh_ffi

from fleetdocs.errors import NetError
from fleetdocs.identity import Identity
from fleetdocs.net.tickets import Capability, PeerAddr, decode_doc_ticket, encode_doc_ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredEntry:
    """One iroh-docs entry with its content: (namespace, author, key) -> value."""

    author: bytes
    key: bytes
    value: bytes
    timestamp_us: int

    @property
    def author_hex(self) -> str:
        return self.author.hex()


@dataclass(frozen=True)
class ReplicaEvent:
    """Something changed (or finished syncing) in a namespace; consumers re-read it."""

    namespace_id: str
    kind: str
    peer: str | None = None
    # insert_remote whose content is not here yet: (content hash, author id); content_ready:
    # (the hash that arrived, None).
    content: tuple[str, str | None] | None = None
    error: str | None = None  # why a sync failed


class EventFeed:
    """Replica events fanned out: each listener gets every event from when it began listening.

    One shared queue would hand each event to a single waiter: in a daemon the event pump
    swallowed the sync results `Session.sync_and_wait` waits for, and an agent's
    post-activation confirmation took 5-8 s instead of one round trip (measured).
    """

    def __init__(self) -> None:
        self._listeners: list[asyncio.Queue[ReplicaEvent]] = []

    def publish(self, event: ReplicaEvent) -> None:
        for listener in self._listeners:
            listener.put_nowait(event)

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[ReplicaEvent]]:
        """A queue of the events published while the block runs."""
        listener: asyncio.Queue[ReplicaEvent] = asyncio.Queue()
        self._listeners.append(listener)
        try:
            yield listener
        finally:
            self._listeners.remove(listener)


class ContentCache:
    """Entry contents by their BLAKE3 hash, least recently used dropped past `limit` bytes.

    Daemons re-read whole namespaces on every change (the audit log, every agent's grant);
    contents are immutable, so only new entries need a call into iroh (profiled: reading
    contents was a sixth of an idle coordinator's Python time with 15 agents).
    """

    def __init__(self, limit: int = 16 << 20) -> None:
        self.limit = limit
        self.size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def get(self, content_hash: str) -> bytes | None:
        value = self._items.get(content_hash)
        if value is not None:
            self._items.move_to_end(content_hash)
        return value

    def put(self, content_hash: str, value: bytes) -> None:
        if content_hash in self._items or len(value) > self.limit:
            return
        self._items[content_hash] = value
        self.size += len(value)
        while self.size > self.limit:
            _, dropped = self._items.popitem(last=False)
            self.size -= len(dropped)


# Longer than iroh's connect timeout and QUIC's idle timeout (30 s each): a peer that is
# merely down or gone ends our rounds with a failure first, and is not taken for stuck
# (measured: "Failed to establish connection" 30 s after asking a stopped peer).
STUCK_AFTER = 45.0
# A peer that completed a round with us this recently was up a moment ago, so a round asked
# of it that has not ended after LIVE_STUCK_AFTER is taken for stuck without waiting out
# the connect timeout. Redialling right after a round is when iroh drops them (see below).
LIVE_WINDOW = 30.0
LIVE_STUCK_AFTER = 10.0


class PendingRounds:
    """The peers of one namespace asked for a sync round that has not ended since.

    iroh-docs 0.35 can drop every round with a peer forever: when the peer refuses a dial
    because it is still finishing the previous round with us, our side stays marked
    "running", emits no event, and ignores every later `start_sync` with that peer
    (n0-computer/iroh-docs PR #111, unmerged). The peer's docs actor takes new requests
    before finished rounds (a `biased` select), so a busy peer refuses any redial that comes
    soon after a round: at 150 agents every agent lost its post-activation rounds with the
    coordinator this way. Leaving the namespace is the only reset the bindings offer, so
    `Replica.sync` leaves and rejoins when a peer was asked and has ended no round since
    (not even a failed one) for `FleetNode.stuck_after` seconds, or `live_stuck_after` if
    the ask came within LIVE_WINDOW of a round that peer completed.
    """

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        # Unchanged while a peer is pending: a round ending clears `_since` too.
        self._completed_at: dict[str, float] = {}

    def stuck(self, peers: Iterable[str], now: float, after: float, live_after: float
              ) -> list[str]:
        return [peer for peer in peers if peer in self._since and
                now - self._since[peer] > (min(after, live_after) if self._live(peer) else after)]

    def _live(self, peer: str) -> bool:
        """Whether `peer` completed a round less than LIVE_WINDOW before it was asked."""
        return self._since[peer] - self._completed_at.get(peer, -math.inf) < LIVE_WINDOW

    def asked(self, peers: Iterable[str], now: float) -> None:
        for peer in peers:
            self._since.setdefault(peer, now)

    def ended(self, peer: str, now: float, completed: bool) -> None:
        """A round with `peer` ended; `completed` unless it failed, which says the peer may
        be gone: its next round gets the full `stuck_after` again."""
        self._since.pop(peer, None)
        if completed:
            self._completed_at[peer] = now
        else:
            self._completed_at.pop(peer, None)

    def forget(self, stuck: Iterable[str]) -> None:
        """The namespace was left because of the `stuck` peers: no round asked before can
        end any more. Each completed round buys one early rejoin, so a peer that left
        right after a round costs at most one."""
        self._since.clear()
        for peer in stuck:
            self._completed_at.pop(peer, None)


def content_matches(value: bytes, content_hex: str) -> bool:
    """Whether `value` is the whole content named by its BLAKE3 hash.

    iroh-blobs 0.35 serves reads of a blob that is still arriving, without an error (its
    `read_at` takes partial entries and only reports `is_complete`, which `read_to_bytes`
    drops). Cached as an entry's content, such a read hid an agent's assignment for good:
    it did not parse, was skipped on every later reconcile, and only a restart showed it
    (60-agent rollouts: one to five agents per run stayed idle with the entry in store).
    """
    return blake3.blake3(value).hexdigest() == content_hex


class _Enqueue(iroh.SubscribeCallback):
    """Callbacks run on iroh's docs actor: awaiting any iroh call here would deadlock."""

    def __init__(self, namespace_id: str, feed: EventFeed, rounds: PendingRounds) -> None:
        self.namespace_id = namespace_id
        self.feed = feed
        self.rounds = rounds

    async def event(self, event: iroh.LiveEvent) -> None:
        kind = event.type()
        name, peer, error = kind.name.lower(), None, None
        content: tuple[str, str | None] | None = None
        if kind == iroh.LiveEventType.SYNC_FINISHED:
            finished = event.as_sync_finished()
            peer = finished.peer.to_bytes().hex()
            self.rounds.ended(peer, time.monotonic(), completed=finished.result is None)
            if finished.result is not None:  # e.g. "Failed to establish connection"
                name, error = "sync_failed", finished.result
        elif kind == iroh.LiveEventType.INSERT_REMOTE:
            insert = event.as_insert_remote()
            peer = insert._from.to_bytes().hex()
            if insert.content_status != iroh.ContentStatus.COMPLETE and insert.entry.content_len():
                content = (insert.entry.content_hash().to_hex(), str(insert.entry.author()))
        elif kind == iroh.LiveEventType.CONTENT_READY:
            content = (event.as_content_ready().to_hex(), None)
        self.feed.publish(ReplicaEvent(self.namespace_id, name, peer, content, error))


class Replica:
    """One namespace replica; writes are authored by this node's principal."""

    def __init__(self, node: FleetNode, doc: iroh.Doc, namespace_id: bytes, writable: bool) -> None:
        self._node = node
        self._doc = doc
        self.namespace_id = namespace_id
        self.writable = writable

    @property
    def id_hex(self) -> str:
        return self.namespace_id.hex()

    async def put(self, key: bytes, value: bytes) -> None:
        if not value:
            raise ValueError("iroh-docs rejects empty values")
        try:
            await self._doc.set_bytes(self._node.author, key, value)
        except iroh.IrohError as exc:
            if not self.writable:
                raise NetError(f"namespace {self.id_hex[:12]}… is read-only here") from None
            raise NetError(f"write to {self.id_hex[:12]}… failed: {exc}") from None

    async def delete_prefix(self, prefix: bytes) -> int:
        """Delete this author's entries under `prefix` (used by attack tests and GC)."""
        return int(await self._doc.delete(self._node.author, prefix))

    async def entries(self, prefix: bytes = b"") -> list[StoredEntry]:
        """Every author's entry under `prefix` whose content is present locally."""
        query = iroh.Query.key_prefix(prefix, None) if prefix else iroh.Query.all(None)
        found = []
        for entry in await self._doc.get_many(query):
            if entry.content_len() == 0:
                continue  # a tombstone left by a prefix delete
            content_hash = entry.content_hash()
            content_hex = content_hash.to_hex()
            value = self._node.contents.get(content_hex)
            if value is None:
                try:
                    value = await self._node.iroh.blobs().read_to_bytes(content_hash)
                except iroh.IrohError:
                    continue  # content not downloaded yet; the content-ready event re-triggers
                if not content_matches(value, content_hex):
                    continue  # still arriving; see content_matches
                self._node.contents.put(content_hex, value)
            found.append(StoredEntry(bytes.fromhex(str(entry.author())), entry.key(), value,
                                     entry.timestamp()))
        return found

    async def missing_content(self) -> list[tuple[str, bytes]]:
        """(content hash, author) of entries whose content this node does not have.

        iroh-docs fetches an entry's content once, from the peer that delivered the entry,
        and does not retry when that fails; fleetdocs.session repairs these.
        """
        missing = []
        for entry in await self._doc.get_many(iroh.Query.all(None)):
            if entry.content_len() and not await self._node.iroh.blobs().has(entry.content_hash()):
                missing.append((entry.content_hash().to_hex(), bytes.fromhex(str(entry.author()))))
        return missing

    async def tombstones(self, prefix: bytes = b"") -> list[tuple[bytes, bytes]]:
        """(author, key) of empty entries: traces of prefix deletions, kept for audit."""
        query = iroh.Query.key_prefix(prefix, None) if prefix else iroh.Query.all(None)
        return [(bytes.fromhex(str(e.author())), e.key()) for e in await self._doc.get_many(query)
                if e.content_len() == 0]

    async def sync(self, peers: list[PeerAddr]) -> None:
        """Start a set-reconciliation round with `peers` (returns before it finishes).

        Rejoins the namespace first if a round with one of them is stuck (`PendingRounds`).
        """
        if not peers:
            return
        addrs = [iroh.NodeAddr(iroh.PublicKey.from_bytes(p.node_id), None, list(p.addrs))
                 for p in peers]
        rounds, now = self._node.rounds(self.namespace_id), time.monotonic()
        after, live_after = self._node.stuck_after, self._node.live_stuck_after
        if stuck := rounds.stuck((p.node_id_hex for p in peers), now, after, live_after):
            log.info("no sync round of %s… with %s ended in %g s (%g s if it was up): "
                     "rejoining", self.id_hex[:12],
                     ", ".join(f"{peer[:12]}…" for peer in stuck), after, live_after)
            await self.leave()
            rounds.forget(stuck)
        rounds.asked((p.node_id_hex for p in peers), now)
        try:
            await self._doc.start_sync(addrs)
        except iroh.IrohError as exc:
            log.debug("start_sync on %s failed: %s", self.id_hex[:12], exc)

    async def leave(self) -> None:
        """Stop live sync: leave the namespace's gossip swarm and accept no more rounds.

        The replica and its entries stay; `sync` joins again.
        """
        try:
            await self._doc.leave()
        except iroh.IrohError as exc:
            log.debug("leave %s failed: %s", self.id_hex[:12], exc)

    async def share_capability(self) -> Capability:
        ticket = await self._doc.share(iroh.ShareMode.WRITE if self.writable else iroh.ShareMode.READ,
                                       iroh.AddrInfoOptions.ID)
        capability, _ = decode_doc_ticket(str(ticket))
        return capability


class FleetNode:
    """A running iroh node holding one principal's namespaces and blobs."""

    def __init__(self, node: iroh.Iroh, identity: Identity, author: iroh.AuthorId) -> None:
        self.iroh = node
        self.identity = identity
        self.author = author
        self.events = EventFeed()
        self.contents = ContentCache()
        self.stuck_after = STUCK_AFTER
        self.live_stuck_after = LIVE_STUCK_AFTER
        self._replicas: dict[bytes, Replica] = {}
        self._rounds: dict[bytes, PendingRounds] = {}

    def rounds(self, namespace_id: bytes) -> PendingRounds:
        """The namespace's unanswered sync rounds; kept across re-imports of the namespace."""
        return self._rounds.setdefault(namespace_id, PendingRounds())

    async def addr(self) -> PeerAddr:
        node_addr = await self.iroh.net().node_addr()
        return PeerAddr(self.identity.public, tuple(node_addr.direct_addresses()))

    async def add_peer(self, peer: PeerAddr) -> None:
        await self.iroh.net().add_node_addr(
            iroh.NodeAddr(iroh.PublicKey.from_bytes(peer.node_id), None, list(peer.addrs)))

    async def connected_peers(self) -> dict[str, list[str]]:
        """Node ids this node has talked to, with the addresses iroh knows for them."""
        infos = await self.iroh.net().remote_info_list()
        return {info.node_id.to_bytes().hex(): [a.addr() for a in info.addrs] for info in infos}

    async def namespaces(self) -> dict[bytes, bool]:
        """Namespace id -> writable, for every replica in the store."""
        return {bytes.fromhex(item.namespace): item.capability == iroh.CapabilityKind.WRITE
                for item in await self.iroh.docs().list()}

    async def create_namespace(self) -> Replica:
        doc = await self.iroh.docs().create()
        return await self._adopt(doc, bytes.fromhex(doc.id()), True)

    async def import_capability(self, capability: Capability, peers: list[PeerAddr]) -> Replica:
        """Import (or upgrade to) a capability by joining a ticket built for it.

        The ticket needs at least one peer; with none known, this node's own address serves.
        """
        peers = peers or [await self.addr()]
        ticket = iroh.DocTicket(encode_doc_ticket(capability, peers))
        try:
            doc = await self.iroh.docs().join(ticket)
        except iroh.IrohError as exc:
            raise NetError(f"cannot import namespace {capability.namespace_id.hex()[:12]}…: {exc}")\
                from None
        self._replicas.pop(capability.namespace_id, None)
        return await self._adopt(doc, capability.namespace_id, capability.writable)

    async def replica(self, namespace_id: bytes) -> Replica:
        cached = self._replicas.get(namespace_id)
        if cached is not None:
            return cached
        doc = await self.iroh.docs().open(namespace_id.hex())
        if doc is None:
            raise NetError(f"namespace {namespace_id.hex()[:12]}… is not in this home")
        writable = (await self.namespaces()).get(namespace_id, False)
        return await self._adopt(doc, namespace_id, writable)

    async def _adopt(self, doc: iroh.Doc, namespace_id: bytes, writable: bool) -> Replica:
        await doc.subscribe(_Enqueue(namespace_id.hex(), self.events, self.rounds(namespace_id)))
        replica = Replica(self, doc, namespace_id, writable)
        self._replicas[namespace_id] = replica
        return replica

    async def shutdown(self) -> None:
        await self.iroh.node().shutdown()


@contextlib.asynccontextmanager
async def running_node(store: Path, identity: Identity, bind: str = "0.0.0.0:0",
                       bind6: str | None = None) -> AsyncIterator[FleetNode]:
    """Start the node with the principal's key and always shut it down.

    `bind`/`bind6` are the IPv4/IPv6 socket addresses; tests and the local demo use
    "127.0.0.1:<port>" and "[::1]:<port>".
    """
    iroh_ffi.uniffi_set_event_loop(asyncio.get_running_loop())  # type: ignore[arg-type]
    store.mkdir(mode=0o700, exist_ok=True)
    options = iroh.NodeOptions(
        enable_docs=True,
        node_discovery=iroh.NodeDiscoveryConfig.NONE,
        ipv4_addr=bind,
        ipv6_addr=bind6,
        secret_key=identity.seed,
    )
    try:
        node = await iroh.Iroh.persistent_with_options(str(store), options)
    except iroh.IrohError as exc:
        raise NetError(f"cannot start the iroh node in {store}: {exc}") from None
    try:
        author = await node.authors().import_author(iroh.Author.from_string(identity.seed.hex()))
        yield FleetNode(node, identity, author)
    finally:
        await _shut_down(node)


SHUTDOWN_TIMEOUT = 10.0


async def _shut_down(node: iroh.Iroh) -> None:
    """Stop the node, but give up after SHUTDOWN_TIMEOUT: the process then ends without it.

    In five 60-agent benchmark set-ups, `agent enroll` of one of the 53rd to 57th agents
    waited forever in iroh's shutdown after its work was done; the cause inside iroh is not
    found (docs/design.md). The store commits its writes within 0.5 s on
    its own, and the CLI and daemon leave with `os._exit`, which a running node survives.
    """
    try:
        async with asyncio.timeout(SHUTDOWN_TIMEOUT):
            await node.node().shutdown()
    except TimeoutError:
        log.warning("the iroh node did not stop within %g s; exiting without it", SHUTDOWN_TIMEOUT)
