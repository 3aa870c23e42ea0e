"""A strict, streaming NAR parser that treats its input as hostile.

The parser accepts exactly the canonical form `nix-store --dump` produces and nothing else:
any deviation (wrong magic, unknown token, non-zero padding, unsorted or duplicate entries,
a name that could walk out of the tree, an oversized string, missing or trailing bytes)
raises a `NarError` subclass with one line saying what was wrong. Because a canonical NAR
is the only accepted form, a tree that parses has exactly one serialization, so its narHash
is meaningful.

It yields events in archive order; a regular file's contents are streamed through
`RegularFile.chunks()` and whatever the consumer leaves unread is skipped, so memory use is
bounded by `CHUNK_SIZE` plus the string limits.
"""

from __future__ import annotations

import struct
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from fleetdocs.artifacts.errors import (
    NarFormatError,
    NarLimitError,
    NarNameError,
    NarOrderError,
    NarTruncatedError,
)
from fleetdocs.artifacts.nar import CHUNK_SIZE, MAGIC, padding

MAX_NAME_LENGTH = 255  # NAME_MAX on Linux: no file system could hold a longer entry.
MAX_TARGET_LENGTH = 4095  # PATH_MAX - 1: the longest symlink target the kernel stores.
MAX_DEPTH = 256
_MAX_TOKEN_LENGTH = 16  # The longest structural token is "nix-archive-1".

NarPath = tuple[bytes, ...]


class Readable(Protocol):
    """What the parser needs from its input: `read(n)` returning up to n bytes."""

    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class Directory:
    """A directory at `path` (components relative to the archive root; `()` is the root)."""

    path: NarPath


@dataclass(frozen=True)
class Symlink:
    """A symlink at `path` whose target is stored verbatim."""

    path: NarPath
    target: bytes


@dataclass(frozen=True)
class RegularFile:
    """A regular file; read its contents with `chunks()` before advancing the parser."""

    path: NarPath
    executable: bool
    size: int
    _reader: NarReader = field(repr=False, compare=False)

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes in order, at most `CHUNK_SIZE` at a time."""
        return self._reader.content_chunks()


NarEvent = Directory | Symlink | RegularFile


@dataclass
class _DirectoryFrame:
    path: NarPath
    last_name: bytes | None = None


def validate_name(name: bytes) -> None:
    """Reject names that are not a single, ordinary path component."""
    if not name:
        raise NarNameError("NAR entry has an empty name")
    if name in (b".", b".."):
        raise NarNameError(f"NAR entry name {name.decode(errors='replace')!r} is not allowed")
    if b"/" in name or b"\0" in name:
        raise NarNameError(f"NAR entry name {name!r} contains '/' or NUL")


class NarReader:
    """Parses one NAR from `source`; iterate over `events()` exactly once."""

    def __init__(self, source: Readable) -> None:
        self._source = source
        self._content_left = 0

    def events(self) -> Iterator[NarEvent]:
        """Every node of the archive, parents before children, then checks for trailing data."""
        self._expect_magic()
        stack: list[_DirectoryFrame] = []
        yield from self._node((), stack)
        while stack:
            frame = stack[-1]
            token = self._token()
            if token == b")":
                stack.pop()
                if stack:
                    self._expect(b")")
                continue
            if token != b"entry":
                raise NarFormatError(f"expected 'entry' or ')' in a directory, got {token!r}")
            self._expect(b"(")
            self._expect(b"name")
            name = self._string(MAX_NAME_LENGTH, "entry name")
            validate_name(name)
            if frame.last_name is not None and name <= frame.last_name:
                kind = "duplicate" if name == frame.last_name else "unsorted"
                raise NarOrderError(f"{kind} directory entry {name!r}")
            frame.last_name = name
            self._expect(b"node")
            if len(frame.path) >= MAX_DEPTH:
                raise NarLimitError(f"NAR nests deeper than {MAX_DEPTH} directories")
            if not (yield from self._node((*frame.path, name), stack)):
                self._expect(b")")
        if self._source.read(1):
            raise NarFormatError("trailing data after the end of the NAR")

    def content_chunks(self) -> Iterator[bytes]:
        """Stream the unread part of the current file's contents."""
        while self._content_left:
            chunk = self._exact(min(CHUNK_SIZE, self._content_left))
            self._content_left -= len(chunk)
            yield chunk

    def _node(self, path: NarPath, stack: list[_DirectoryFrame]) -> Generator[NarEvent, None, bool]:
        """Parse one node; returns True if it opened a directory (closed later by the loop)."""
        self._expect(b"(")
        self._expect(b"type")
        kind = self._token()
        if kind == b"directory":
            stack.append(_DirectoryFrame(path))
            yield Directory(path)
            return True
        if kind == b"symlink":
            self._expect(b"target")
            target = self._string(MAX_TARGET_LENGTH, "symlink target")
            if not target or b"\0" in target:
                raise NarFormatError(f"symlink target {target!r} is empty or contains NUL")
            self._expect(b")")
            yield Symlink(path, target)
            return False
        if kind != b"regular":
            raise NarFormatError(f"unknown node type {kind!r}")
        token = self._token()
        executable = token == b"executable"
        if executable:
            self._expect(b"")
            token = self._token()
        if token != b"contents":
            raise NarFormatError(f"expected 'contents' in a regular file, got {token!r}")
        size = self._u64()
        self._content_left = size
        yield RegularFile(path, executable, size, self)
        for _ in self.content_chunks():
            pass
        self._check_padding(size)
        self._expect(b")")
        return False

    def _expect_magic(self) -> None:
        try:
            magic = self._token()
        except (NarLimitError, NarFormatError, NarTruncatedError):
            magic = b""
        if magic != MAGIC:
            raise NarFormatError("not a NAR: bad magic (expected 'nix-archive-1')")

    def _expect(self, token: bytes) -> None:
        found = self._token()
        if found != token:
            raise NarFormatError(f"expected {token!r} in the NAR, got {found!r}")

    def _token(self) -> bytes:
        return self._string(_MAX_TOKEN_LENGTH, "token")

    def _string(self, limit: int, what: str) -> bytes:
        length = self._u64()
        if length > limit:
            raise NarLimitError(f"NAR {what} of {length} bytes exceeds the limit of {limit}")
        data = self._exact(length)
        self._check_padding(length)
        return data

    def _check_padding(self, length: int) -> None:
        if any(self._exact(padding(length))):
            raise NarFormatError("non-zero padding in the NAR")

    def _u64(self) -> int:
        value: int = struct.unpack("<Q", self._exact(8))[0]
        return value

    def _exact(self, size: int) -> bytes:
        data = self._source.read(size)
        while len(data) < size:
            more = self._source.read(size - len(data))
            if not more:
                raise NarTruncatedError("the NAR ends early (truncated)")
            data += more
        return data
