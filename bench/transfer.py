"""Artifact transfer MiB/s: fleetdocs fetch beside raw iroh-blobs and rsync over loopback.

The same random file is fetched three ways on this machine:
* fleetdocs: `fetch_artifact` on a coordinator's session from the admin that added it
  (manifest download, blob download with BLAKE3 verification, verified export to a file);
* raw iroh-blobs: `BlobStore.download` of the same content between two bare nodes;
* rsync: `rsync --daemon` on 127.0.0.1 (a generated config in a temp dir) to a fresh
  directory, `--whole-file`, so it moves every byte as the others do.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.inprocess import add_file_artifact, coordinator_fleet
from bench.results import BenchError, Result, wait_for
from fleetdocs.identity import Identity
from fleetdocs.net.blobs import BlobStore, file_blake3
from fleetdocs.net.node import running_node
from fleetdocs.roles.artifacts import fetch_artifact
from tests.fleet.sessions import homes

MIB = 1 << 20
LIMIT = "one QUIC stream on loopback, BLAKE3 verification and disk writes; CPU on 2 cores"


def run(size_mib: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-transfer-") as scratch:
        root = Path(scratch)
        payload = root / "payload"
        _write_random(payload, size_mib)
        fleet_seconds = asyncio.run(_fleet_fetch(root / "fleet", payload))
        raw_seconds = asyncio.run(_raw_download(root / "raw", payload))
        rsync_seconds = _rsync(root / "rsync", payload)
    params = {"size_mib": size_mib}
    return [
        Result("transfer", "fleetdocs artifact fetch", size_mib / fleet_seconds, "MiB/s",
               size_mib / raw_seconds, "raw iroh-blobs download", LIMIT, params),
        Result("transfer", "raw iroh-blobs download", size_mib / raw_seconds, "MiB/s",
               size_mib / rsync_seconds, "rsync daemon on 127.0.0.1 (--whole-file)",
               "iroh-blobs over QUIC on loopback with BLAKE3 verified streaming", params),
        Result("transfer", "rsync daemon on 127.0.0.1", size_mib / rsync_seconds, "MiB/s", None,
               None, "plain TCP on loopback, page cache", params),
    ]


def _write_random(path: Path, size_mib: int) -> None:
    with path.open("wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MIB))


async def _fleet_fetch(root: Path, payload: Path) -> float:
    async with homes(root) as h:
        await coordinator_fleet(h)
        artifact = await add_file_artifact(h, "A", _copy(payload, root / "to-add"))
        started = time.perf_counter()
        await fetch_artifact(h["C1"], artifact, dest_blob_dir=root / "fetched")
        return time.perf_counter() - started


def _copy(payload: Path, destination: Path) -> Path:
    """artifact.add may consume staged files: hand it its own copy."""
    shutil.copyfile(payload, destination)
    return destination


async def _raw_download(root: Path, payload: Path) -> float:
    root.mkdir()
    blob = file_blake3(payload)
    async with running_node(root / "one", Identity.generate(), "127.0.0.1:0") as one, \
            running_node(root / "two", Identity.generate(), "127.0.0.1:0") as two:
        await BlobStore(one).add_file(payload, blob)
        started = time.perf_counter()
        await BlobStore(two).download(blob, [await one.addr()])
        await BlobStore(two).export(blob, root / "exported")
        return time.perf_counter() - started


RSYNCD_CONF = """pid file = {root}/rsyncd.pid
use chroot = false
[bench]
path = {source}
read only = true
"""


def _rsync(root: Path, payload: Path) -> float:
    if shutil.which("rsync") is None:
        raise BenchError("rsync is not installed (apt-get install rsync)")
    source, destination = root / "source", root / "destination"
    source.mkdir(parents=True)
    destination.mkdir()
    shutil.copyfile(payload, source / payload.name)
    port = _free_port()
    config = root / "rsyncd.conf"
    config.write_text(RSYNCD_CONF.format(root=root, source=source))
    daemon = subprocess.Popen(["rsync", "--daemon", "--no-detach", f"--config={config}",
                               "--address=127.0.0.1", f"--port={port}"])
    try:
        wait_for(lambda: _listening(port), 10, "the rsync daemon")
        started = time.perf_counter()
        subprocess.run(["rsync", "--whole-file", f"rsync://127.0.0.1:{port}/bench/",
                        str(destination)], check=True, capture_output=True)
        seconds = time.perf_counter() - started
    finally:
        daemon.terminate()
        daemon.wait()
    return seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
