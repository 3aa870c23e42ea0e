"""A streaming NAR writer, byte-identical to `nix-store --dump`.

The NAR ("Nix ARchive") is Nix's canonical serialization of a file tree: only regular files
(with an executable bit), symlinks and directories, entries sorted byte-wise, no timestamps or
owners. Its sha256 is the narHash that Nix records, so producing the exact same bytes as Nix is
what lets a device verify a store path without running Nix.

Every string is a little-endian u64 length, the bytes, and zero padding to 8 bytes. Memory use
is constant: file contents are streamed in chunks of `CHUNK_SIZE`, and small tokens are batched
into one buffer so a tree of many tiny files does not produce millions of tiny writes.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fleetdocs.artifacts.errors import NarError, UnsupportedFileError

MAGIC = b"nix-archive-1"
CHUNK_SIZE = 1 << 20
_FLUSH_AT = 1 << 16


def padding(length: int) -> int:
    """Zero bytes that follow a string of `length` bytes to reach an 8-byte boundary."""
    return -length % 8


def encode_string(data: bytes) -> bytes:
    """One NAR string token: length, bytes, zero padding."""
    return struct.pack("<Q", len(data)) + data + b"\0" * padding(len(data))


class _TokenBuffer:
    """Collects small tokens and hands them out in batches."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def add(self, *tokens: bytes) -> Iterator[bytes]:
        for token in tokens:
            self._pending += encode_string(token)
        if len(self._pending) >= _FLUSH_AT:
            yield from self.flush()

    def add_raw(self, data: bytes) -> None:
        self._pending += data

    def flush(self) -> Iterator[bytes]:
        if self._pending:
            yield bytes(self._pending)
            self._pending.clear()


def dump_path(path: Path) -> Iterator[bytes]:
    """Yield the NAR serialization of `path` (not followed if it is a symlink) in chunks."""
    buffer = _TokenBuffer()
    yield from buffer.add(MAGIC)
    yield from _dump_node(os.fsencode(path), buffer)
    yield from buffer.flush()


def write_nar(path: Path, out: BinaryIO) -> int:
    """Write the NAR of `path` to `out`; returns the number of bytes written."""
    written = 0
    for chunk in dump_path(path):
        out.write(chunk)
        written += len(chunk)
    return written


def _dump_node(path: bytes, buffer: _TokenBuffer) -> Iterator[bytes]:
    info = os.lstat(path)
    yield from buffer.add(b"(", b"type")
    if stat.S_ISREG(info.st_mode):
        yield from _dump_regular(path, info, buffer)
    elif stat.S_ISLNK(info.st_mode):
        yield from buffer.add(b"symlink", b"target", os.readlink(path))
    elif stat.S_ISDIR(info.st_mode):
        yield from buffer.add(b"directory")
        for name in sorted(os.listdir(path)):
            yield from buffer.add(b"entry", b"(", b"name", name, b"node")
            yield from _dump_node(os.path.join(path, name), buffer)
            yield from buffer.add(b")")
    else:
        raise UnsupportedFileError(f"{os.fsdecode(path)}: a NAR holds only files, symlinks and directories")
    yield from buffer.add(b")")


def _dump_regular(path: bytes, info: os.stat_result, buffer: _TokenBuffer) -> Iterator[bytes]:
    # Nix looks only at the owner's execute bit.
    if info.st_mode & stat.S_IXUSR:
        yield from buffer.add(b"regular", b"executable", b"")
    else:
        yield from buffer.add(b"regular")
    yield from buffer.add(b"contents")
    buffer.add_raw(struct.pack("<Q", info.st_size))
    remaining = info.st_size
    with open(path, "rb") as source:
        while remaining:
            chunk = source.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            if len(chunk) < _FLUSH_AT:
                buffer.add_raw(chunk)
            else:
                yield from buffer.flush()
                yield chunk
        if remaining or source.read(1):
            raise NarError(f"{os.fsdecode(path)} changed size while it was being archived")
    buffer.add_raw(b"\0" * padding(info.st_size))


def nar_size(path: Path) -> int:
    """Exact byte length of the NAR of `path`, from metadata alone (for progress totals)."""
    return len(encode_string(MAGIC)) + _node_size(os.fsencode(path))


def _node_size(path: bytes) -> int:
    info = os.lstat(path)
    size = _tokens_size(b"(", b"type", b")")
    if stat.S_ISREG(info.st_mode):
        size += _tokens_size(b"regular", b"contents") + 8 + info.st_size + padding(info.st_size)
        if info.st_mode & stat.S_IXUSR:
            size += _tokens_size(b"executable", b"")
    elif stat.S_ISLNK(info.st_mode):
        size += _tokens_size(b"symlink", b"target", os.readlink(path))
    elif stat.S_ISDIR(info.st_mode):
        size += _tokens_size(b"directory")
        for name in os.listdir(path):
            size += _tokens_size(b"entry", b"(", b"name", name, b"node", b")")
            size += _node_size(os.path.join(path, name))
    else:
        raise UnsupportedFileError(f"{os.fsdecode(path)}: a NAR holds only files, symlinks and directories")
    return size


def _tokens_size(*tokens: bytes) -> int:
    return sum(8 + len(token) + padding(len(token)) for token in tokens)
