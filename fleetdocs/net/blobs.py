"""Artifact blobs in iroh-blobs: the only module that calls the blobs API.

Facts from iroh 0.35 (measured, see docs/artifacts.md) that shape this module:
- blobs are added from files (`add_from_path`): the binding copies a `bytes` argument into
  Rust one byte at a time, so even a manifest is written to a file first;
- every blob we keep carries a named tag `fleetdocs/blob/<hash>`: tags protect blobs from
  iroh's garbage collector, and `delete_blob` in the binding only deletes a blob it finds a
  tag for, so a deterministic tag name is what makes deletion possible at all;
- a download from a peer that lacks the blob does not fail: the call returns after an ABORT
  event; a download from an unreachable peer may never return. So an attempt ends at the
  first ABORT or ALL_DONE event or after `stall_timeout` seconds without any event, and
  success is judged by `has()` afterwards, never by the call returning;
- iroh verifies blobs in transit (BLAKE3 verified streaming), but not when exporting: bytes
  changed on disk inside the store are exported silently. Every export is therefore hashed
  again before it is handed out.

Nothing iroh-typed leaves this module: hashes are lowercase hex strings, peers `PeerAddr`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
import iroh

from fleetdocs.artifacts.progress import ProgressCallback
from fleetdocs.errors import NetError
from fleetdocs.net.node import FleetNode, content_matches
from fleetdocs.net.tickets import PeerAddr

log = logging.getLogger(__name__)

TAG_PREFIX = b"fleetdocs/blob/"
DEFAULT_STALL_TIMEOUT = 10.0
DEFAULT_ROUNDS = 2
ROUND_PAUSE = 1.0
END_GRACE = 1.0
_BLOB_HASH = re.compile(r"[0-9a-f]{64}")
_READ_CHUNK = 1 << 20
NONCOMPLIANT_REMOTE = "Remote behaved in a non-compliant way"


class BlobError(NetError):
    """A blob could not be stored, found, fetched or verified."""


class BlobHashError(BlobError):
    """A blob hash is not 64 lowercase hex digits."""


class BlobMismatchError(BlobError):
    """Bytes do not hash (BLAKE3) to the blob hash they are supposed to have."""


class BlobMissingError(BlobError):
    """The blob is not complete in this node's store."""


class BlobUnavailableError(BlobError):
    """No peer delivered the blob."""


def parse_blob_hash(text: str) -> str:
    """`text` if it is a BLAKE3 hash as fleetdocs writes it (64 lowercase hex digits)."""
    if not _BLOB_HASH.fullmatch(text):
        raise BlobHashError(f"blob hash {text[:70]!r} is not 64 lowercase hex digits")
    return text


def file_blake3(path: Path) -> str:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    with open(path, "rb") as source:
        while chunk := source.read(_READ_CHUNK):
            hasher.update(chunk)
    digest: str = hasher.hexdigest()
    return digest


def verify_file(path: Path, expected: str) -> None:
    """Raise BlobMismatchError unless the file's BLAKE3 is `expected`."""
    actual = file_blake3(path)
    if actual != expected:
        raise BlobMismatchError(f"{path.name}: BLAKE3 is {actual[:16]}…, expected {expected[:16]}…")


def stall_timeout_setting() -> float:
    """Seconds without download progress before a peer is given up (tests shorten it)."""
    return float(os.environ.get("FLEETDOCS_BLOB_STALL_TIMEOUT", DEFAULT_STALL_TIMEOUT))


def blob_tag(blob: str) -> bytes:
    return TAG_PREFIX + blob.encode()


@dataclass(frozen=True)
class DownloadFailure:
    """Why one peer did not deliver a blob (collected into BlobUnavailableError's message)."""

    peer: str
    reason: str

    def __str__(self) -> str:
        return f"{self.peer[:12]}…: {self.reason}"


class BlobStore:
    """This node's artifact blobs: add, check, read, export, download, delete."""

    def __init__(self, node: FleetNode, *, stall_timeout: float | None = None) -> None:
        self._blobs = node.iroh.blobs()
        self._tags = node.iroh.tags()
        self._own_id = node.identity.public
        self.stall_timeout = stall_timeout if stall_timeout is not None else stall_timeout_setting()
        self._score: dict[bytes, int] = {}
        """Per peer: failures minus successes, so later downloads ask working peers first."""

    async def add_file(self, path: Path, expected: str) -> str:
        """Copy the file into the store, tagged so it is kept; its BLAKE3 must be `expected`.

        A file that changed since it was staged is caught here: its tag is removed again and
        BlobMismatchError raised, so a wrong blob is never kept under the expected name.
        """
        parse_blob_hash(expected)
        watcher = _AddWatcher()
        try:
            await self._blobs.add_from_path(str(path.absolute()), False,
                                            iroh.SetTagOption.named(blob_tag(expected)),
                                            _no_wrap(), watcher)
        except iroh.IrohError as exc:
            raise BlobError(f"cannot add {path}: {exc}") from None
        if watcher.error is not None or watcher.hash is None:
            raise BlobError(f"cannot add {path}: {watcher.error or 'no result from iroh'}")
        if watcher.hash != expected:
            await self._tags.delete(blob_tag(expected))
            raise BlobMismatchError(f"{path} changed since it was staged: BLAKE3 is "
                                    f"{watcher.hash[:16]}…, expected {expected[:16]}…")
        return watcher.hash

    async def has(self, blob: str) -> bool:
        return bool(await self._blobs.has(_iroh_hash(blob)))

    async def size(self, blob: str) -> int:
        """Size of a complete local blob."""
        await self._require(blob)
        return int(await self._blobs.size(_iroh_hash(blob)))

    async def read(self, blob: str) -> bytes:
        """The bytes of a small local blob (a manifest), verified against its hash."""
        await self._require(blob)
        data = bytes(await self._blobs.read_to_bytes(_iroh_hash(blob)))
        if not content_matches(data, blob):
            raise BlobMismatchError(f"stored blob {blob[:16]}… does not match its hash")
        return data

    async def export(self, blob: str, destination: Path) -> Path:
        """Copy a local blob to `destination`, verified; a verified copy there is reused."""
        await self._require(blob)
        if destination.is_file():
            with contextlib.suppress(BlobMismatchError):
                verify_file(destination, blob)
                return destination
        destination.parent.mkdir(parents=True, exist_ok=True)
        temporary = destination.with_name(f".partial-{secrets.token_hex(8)}-{destination.name}")
        try:
            await self._blobs.export(_iroh_hash(blob), str(temporary.absolute()),
                                     iroh.BlobExportFormat.BLOB, iroh.BlobExportMode.COPY)
            verify_file(temporary, blob)
            os.replace(temporary, destination)
        except iroh.IrohError as exc:
            raise BlobError(f"cannot export blob {blob[:16]}…: {exc}") from None
        finally:
            temporary.unlink(missing_ok=True)
        return destination

    async def download(self, blob: str, peers: Sequence[PeerAddr], *,
                       progress: ProgressCallback | None = None,
                       rounds: int = DEFAULT_ROUNDS) -> str | None:
        """Fetch `blob` from the first of `peers` that delivers it; returns that peer's id.

        Peers are tried in order, `rounds` times over (a coordinator may still be fetching
        the blob itself); peers that failed earlier downloads of this store are asked last.
        None means the blob was already here. iroh checks every byte against the hash while
        it streams, so a peer serving wrong bytes simply fails.
        """
        parse_blob_hash(blob)
        if await self.has(blob):
            return None
        candidates = sorted((peer for peer in peers if peer.node_id != self._own_id),
                            key=lambda peer: self._score.get(peer.node_id, 0))
        failures: list[DownloadFailure] = []
        for round_number in range(rounds):
            if round_number:
                await asyncio.sleep(ROUND_PAUSE)
            for peer in candidates:
                # Logged when asked and when answered, so a stalled transfer names its peer.
                log.info("blob %s… from %s…: asking", blob[:12], peer.node_id_hex[:12])
                reason = await self._attempt(blob, peer, progress)
                log.info("blob %s… from %s…: %s", blob[:12], peer.node_id_hex[:12],
                         reason or "done")
                self._score[peer.node_id] = self._score.get(peer.node_id, 0) + (1 if reason else -1)
                if reason is None:
                    return peer.node_id_hex
                failures.append(DownloadFailure(peer.node_id_hex, reason))
        detail = "; ".join(str(f) for f in failures[-len(candidates):]) or "no peers known"
        raise BlobUnavailableError(f"no peer delivered blob {blob[:16]}… ({detail})")

    async def delete(self, blob: str) -> bool:
        """Remove the blob and its tag; False if it was not here."""
        if not await self.has(blob):
            return False
        try:
            await self._blobs.delete_blob(_iroh_hash(blob))
        except iroh.IrohError as exc:
            raise BlobError(f"cannot delete blob {blob[:16]}…: {exc}") from None
        return not await self.has(blob)

    async def tagged(self) -> frozenset[str]:
        """Every blob this module keeps (by its tag), complete or not."""
        return frozenset(info.hash.to_hex() for info in await self._tags.list()
                         if bytes(info.name).startswith(TAG_PREFIX))

    async def _require(self, blob: str) -> None:
        parse_blob_hash(blob)
        if not await self.has(blob):
            raise BlobMissingError(f"blob {blob[:16]}… is not stored here")

    async def _attempt(self, blob: str, peer: PeerAddr, progress: ProgressCallback | None
                       ) -> str | None:
        """One download from one peer; None on success, else why it failed."""
        watcher = _DownloadWatcher(progress)
        options = iroh.BlobDownloadOptions(
            iroh.BlobFormat.RAW,
            [iroh.NodeAddr(iroh.PublicKey.from_bytes(peer.node_id), None, list(peer.addrs))],
            iroh.SetTagOption.named(blob_tag(blob)))
        call = asyncio.ensure_future(self._blobs.download(_iroh_hash(blob), options, watcher))
        try:
            failure = await self._watch(call, watcher)
        finally:
            if not call.done():
                call.cancel()
                with contextlib.suppress(asyncio.CancelledError, iroh.IrohError):
                    await call
        if failure is not None:
            return failure
        return None if await self.has(blob) else "the transfer ended without the blob"

    async def _watch(self, call: asyncio.Future[None], watcher: _DownloadWatcher) -> str | None:
        while not call.done() and not watcher.ended:
            watcher.activity.clear()
            activity: asyncio.Future[Any] = asyncio.ensure_future(watcher.activity.wait())
            done, _ = await asyncio.wait([call, activity], timeout=self.stall_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            activity.cancel()
            if not done:
                return f"no progress for {self.stall_timeout:g} s (unreachable?)"
        if not call.done():
            # The call usually returns right after its last event; give it a moment, so its
            # temporary tag is released and the blob can be deleted later.
            await asyncio.wait([call], timeout=END_GRACE)
        if call.done() and (error := call.exception()) is not None:
            return f"iroh: {error}"
        return watcher.abort


class _AddWatcher(iroh.AddCallback):
    """Records the outcome of `add_from_path`; callbacks must not call iroh themselves."""

    def __init__(self) -> None:
        self.hash: str | None = None
        self.error: str | None = None

    async def progress(self, progress: iroh.AddProgress) -> None:
        kind = progress.type()
        if kind == iroh.AddProgressType.ALL_DONE:
            self.hash = progress.as_all_done().hash.to_hex()
        elif kind == iroh.AddProgressType.ABORT:
            self.error = progress.as_abort().error


def describe_abort(error: str) -> str:
    """Why a download aborted, in an operator's words where iroh's are too generic.

    iroh-blobs reports content that fails BLAKE3 verification as a "non-compliant" remote
    (the same error covers QUIC protocol violations, which honest iroh peers do not commit).
    """
    if error == NONCOMPLIANT_REMOTE:
        return f"sent bytes that do not match the hash, or broke the protocol (iroh: {error})"
    return f"aborted: {error}"


class _DownloadWatcher(iroh.DownloadCallback):
    """Turns download events into byte progress, an end marker and an activity signal."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self._progress = progress
        self.activity = asyncio.Event()
        self.ended = False
        self.abort: str | None = None
        self.total = 0

    async def progress(self, progress: iroh.DownloadProgress) -> None:
        self.activity.set()
        kind = progress.type()
        if kind == iroh.DownloadProgressType.FOUND:
            self.total = int(progress.as_found().size)
            self._report(0)
        elif kind == iroh.DownloadProgressType.PROGRESS:
            self._report(int(progress.as_progress().offset))
        elif kind == iroh.DownloadProgressType.DONE:
            self._report(self.total)
        elif kind == iroh.DownloadProgressType.ALL_DONE:
            self.ended = True
        elif kind == iroh.DownloadProgressType.ABORT:
            self.ended = True
            self.abort = describe_abort(progress.as_abort().error)

    def _report(self, done: int) -> None:
        if self._progress is not None:
            self._progress(done, self.total)


def _iroh_hash(blob: str) -> iroh.Hash:
    value: iroh.Hash = iroh.Hash.from_string(parse_blob_hash(blob))
    return value


def _no_wrap() -> iroh.WrapOption:
    value: iroh.WrapOption = iroh.WrapOption.no_wrap()  # type: ignore[no-untyped-call]
    return value
