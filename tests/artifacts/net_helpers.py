"""Helpers for artifact tests over real iroh nodes: CLI processes, daemons, raw blob nodes.

Tests run inside the loopback-only namespace `scripts/dev.py test` creates; every process
binds to 127.0.0.1 and syncs every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import iroh
from iroh import iroh_ffi

from fleetdocs.identity import Identity
from fleetdocs.net.node import FleetNode, running_node
from fleetdocs.net.tickets import PeerAddr

NET_ENV = {"FLEETDOCS_BIND_HOST": "127.0.0.1", "FLEETDOCS_SYNC_INTERVAL": "1",
           "FLEETDOCS_BLOB_STALL_TIMEOUT": "2"}


class Homes:
    """Homes under one directory, `fleetdocs` CLI calls on them, and their daemons."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.daemons: dict[str, subprocess.Popen[bytes]] = {}

    def path(self, name: str) -> Path:
        return self.root / name

    def cli(self, name: str, *args: str) -> str:
        command = [sys.executable, "-m", "fleetdocs", "--home", str(self.path(name)), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                env={**os.environ, **NET_ENV})
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} on {name} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result.stdout

    def json(self, name: str, *args: str) -> Any:
        return json.loads(self.cli(name, *args, "--json"))

    def join_coordinator(self, admin: str, name: str) -> None:
        key = self.json(name, "key", "show")["id"]
        ticket = self.cli(admin, "invite", "coordinator", "--key", key).strip()
        self.cli(name, "join", ticket)

    def start(self, name: str) -> None:
        if name in self.daemons:
            return
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115  (closed below, kept by the child)
        command = [sys.executable, "-m", "fleetdocs", "--home", str(self.path(name)), "run"]
        self.daemons[name] = subprocess.Popen(command, stdout=log, stderr=log,
                                              env={**os.environ, **NET_ENV})
        log.close()
        deadline = time.monotonic() + 30
        while not (self.path(name) / "control.sock").exists():
            if self.daemons[name].poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name} daemon did not start: {self.log(name)}")
            time.sleep(0.1)

    def stop(self, name: str) -> None:
        process = self.daemons.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def close(self) -> None:
        for name in list(self.daemons):
            self.stop(name)


@contextlib.asynccontextmanager
async def blob_nodes(root: Path, count: int) -> AsyncIterator[list[FleetNode]]:
    """`count` bare iroh nodes on loopback (no fleet): enough to move blobs around."""
    async with contextlib.AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(
            running_node(root / f"node{i}", Identity.generate(), "127.0.0.1:0"))
            for i in range(count)]
        yield nodes


def random_file(path: Path, size: int, seed: int) -> Path:
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def corrupt_store_copy(store: Path, blob: str) -> None:
    """Flip one byte of a blob inside an iroh store (blobs over 16 KiB live in data files)."""
    data_file = store / "blobs" / "data" / f"{blob}.data"
    data = bytearray(data_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    data_file.write_bytes(bytes(data))


BLOBS_ALPN = b"/iroh-bytes/4"


class _LyingBlobHandler:
    """Answers every blob request with `size` bytes that are not the requested blob."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.served = 0

    async def accept(self, conn: Any) -> None:
        stream = await conn.accept_bi()
        await stream.recv().read_to_end(64 * 1024)
        # A blob of one chunk group (<= 16 KiB) is sent as its length and its bytes, with no
        # tree nodes: the receiver can only find out by hashing what arrived.
        send = stream.send()
        await send.write_all(self.size.to_bytes(8, "little") + b"\xa5" * self.size)
        await send.finish()
        self.served += 1
        # As iroh's provider does, leave closing to the receiver: dropping the connection
        # now could cut the bytes off in flight (an IO error instead of a hash mismatch).
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.closed(), 10)

    async def shutdown(self) -> None:
        return None


class _LyingBlobProtocol:
    def __init__(self, handler: _LyingBlobHandler) -> None:
        self.handler = handler

    def create(self, endpoint: Any) -> _LyingBlobHandler:
        return self.handler


@contextlib.asynccontextmanager
async def lying_blob_provider(root: Path, size: int
                              ) -> AsyncIterator[tuple[PeerAddr, _LyingBlobHandler]]:
    """A real iroh node on loopback whose blob protocol serves wrong bytes for any hash.

    It replaces iroh's own provider (the router keeps the last handler per ALPN), so to its
    peers it is an ordinary node that claims every blob and lies about the content.
    """
    iroh_ffi.uniffi_set_event_loop(asyncio.get_running_loop())  # type: ignore[arg-type]
    identity = Identity.generate()
    handler = _LyingBlobHandler(size)
    root.mkdir(parents=True, exist_ok=True)
    options = iroh.NodeOptions(node_discovery=iroh.NodeDiscoveryConfig.NONE,
                               ipv4_addr="127.0.0.1:0", secret_key=identity.seed,
                               protocols={BLOBS_ALPN: _LyingBlobProtocol(handler)})
    node = await iroh.Iroh.persistent_with_options(str(root), options)
    try:
        addrs = (await node.net().node_addr()).direct_addresses()
        yield PeerAddr(identity.public, tuple(addrs)), handler
    finally:
        await node.node().shutdown()
