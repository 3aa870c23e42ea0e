"""Single-pass hashing while NAR bytes are written to or read from a file.

Staging computes, in one pass over each NAR, its sha256 (the narHash Nix records), its
BLAKE3 (the blob id iroh uses) and its size; materialization recomputes the sha256 while
unpacking and refuses to read past the size the manifest promises, so a blob cannot fill
the disk beyond what the free-space check allowed.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

import blake3

from fleetdocs.artifacts.errors import IntegrityError
from fleetdocs.artifacts.progress import ProgressMeter


class HashingWriter:
    """Writes chunks to `sink` while computing sha256, BLAKE3 and the byte count."""

    def __init__(self, sink: BinaryIO, meter: ProgressMeter) -> None:
        self._sink = sink
        self._meter = meter
        self._sha256 = hashlib.sha256()
        self._blake3 = blake3.blake3(max_threads=blake3.blake3.AUTO)
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._sink.write(chunk)
        self._sha256.update(chunk)
        self._blake3.update(chunk)
        self.size += len(chunk)
        self._meter.advance(len(chunk))

    def sha256(self) -> bytes:
        return self._sha256.digest()

    def blake3_hex(self) -> str:
        result: str = self._blake3.hexdigest()
        return result


class HashingReader:
    """Reads at most `limit` bytes from `source`, hashing them with sha256 as they pass."""

    def __init__(self, source: BinaryIO, limit: int, what: str, meter: ProgressMeter) -> None:
        self._source = source
        self._limit = limit
        self._what = what
        self._meter = meter
        self._sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int, /) -> bytes:
        data = self._source.read(min(size, self._limit - self.size + 1))
        self.size += len(data)
        if self.size > self._limit:
            raise IntegrityError(f"{self._what} is larger than its narSize of {self._limit} bytes")
        self._sha256.update(data)
        self._meter.advance(len(data))
        return data

    def sha256(self) -> bytes:
        return self._sha256.digest()
