"""The NAR reader rejects hostile archives with a specific NarError and never writes outside."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nar_trees import Node, directory_trees, raw_nar

from fleetdocs.artifacts.errors import (
    NarError,
    NarFormatError,
    NarLimitError,
    NarNameError,
    NarOrderError,
    NarTruncatedError,
    SymlinkEscapeError,
)
from fleetdocs.artifacts.nar import MAGIC, encode_string
from fleetdocs.artifacts.nar_reader import MAX_DEPTH, NarReader, RegularFile
from fleetdocs.artifacts.nar_restore import remove_tree, restore_nar
from fleetdocs.artifacts.symlinks import SymlinkConfinement

CONFINEMENT = SymlinkConfinement((b"x-tree",), b"/nix/store")
FILE: Node = ("file", b"data", False)


def restore_bytes(data: bytes, sandbox: Path) -> None:
    restore_nar(io.BytesIO(data), sandbox / "dest", CONFINEMENT)


def directory(*entries: tuple[bytes, Node]) -> Node:
    return ("dir", list(entries))


@pytest.mark.parametrize(
    ("archive", "error", "message"),
    [
        (b"", NarFormatError, "bad magic"),
        (encode_string(b"nix-archive-2") + raw_nar(FILE)[24:], NarFormatError, "bad magic"),
        (struct.pack("<Q", 1 << 60), NarFormatError, "bad magic"),
        (raw_nar(directory((b"..", FILE))), NarNameError, "not allowed"),
        (raw_nar(directory((b".", FILE))), NarNameError, "not allowed"),
        (raw_nar(directory((b"", FILE))), NarNameError, "empty name"),
        (raw_nar(directory((b"a/b", FILE))), NarNameError, "'/' or NUL"),
        (raw_nar(directory((b"a\0b", FILE))), NarNameError, "'/' or NUL"),
        (raw_nar(directory((b"a", FILE), (b"a", FILE))), NarOrderError, "duplicate"),
        (raw_nar(directory((b"b", FILE), (b"a", FILE))), NarOrderError, "unsorted"),
        (raw_nar(directory((b"x" * 256, FILE))), NarLimitError, "exceeds the limit"),
        (raw_nar(("link", b"/" + b"y" * 4095)), NarLimitError, "exceeds the limit"),
        (raw_nar(FILE) + b"\0", NarFormatError, "trailing data"),
        (raw_nar(("link", b"")), NarFormatError, "empty or contains NUL"),
        (raw_nar(("link", b"/etc/passwd")), SymlinkEscapeError, "outside /nix/store"),
        (raw_nar(directory((b"l", ("link", b"../../..")))), SymlinkEscapeError, "climbs"),
    ],
)
def test_hostile_archives_are_rejected(
    tmp_path: Path, archive: bytes, error: type[NarError], message: str
) -> None:
    with pytest.raises(error, match=message):
        restore_bytes(archive, tmp_path)


def test_non_zero_padding_is_rejected(tmp_path: Path) -> None:
    archive = bytearray(raw_nar(("file", b"abc", False)))
    archive[-17] = 1  # last padding byte of the contents, just before the closing ")"
    with pytest.raises(NarFormatError, match="padding"):
        restore_bytes(bytes(archive), tmp_path)


def test_every_truncation_is_rejected(tmp_path: Path) -> None:
    archive = raw_nar(directory((b"a", FILE), (b"b", ("link", b"a"))))
    for end in range(len(encode_string(MAGIC)), len(archive)):
        with pytest.raises(NarTruncatedError):
            list(NarReader(io.BytesIO(archive[:end])).events())


def test_unknown_tokens_are_rejected() -> None:
    tokens = [MAGIC, b"(", b"type", b"regular", b"executable", b"x", b"contents", b"", b")"]
    archive = b"".join(encode_string(token) for token in tokens)
    with pytest.raises(NarFormatError, match="expected b''"):
        list(NarReader(io.BytesIO(archive)).events())


def test_nesting_limit() -> None:
    node: Node = FILE
    for _ in range(MAX_DEPTH + 1):
        node = directory((b"d", node))
    with pytest.raises(NarLimitError, match="deeper"):
        list(NarReader(io.BytesIO(raw_nar(node))).events())


def test_unread_contents_are_skipped() -> None:
    archive = raw_nar(directory((b"a", ("file", b"x" * 100, False)), (b"b", FILE)))
    events = list(NarReader(io.BytesIO(archive)).events())
    assert [event.path for event in events] == [(), (b"a",), (b"b",)]
    assert isinstance(events[1], RegularFile)
    assert events[1].size == 100


def entries_below(directory_path: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(top, name), directory_path)
        for top, dirs, files in os.walk(directory_path)
        for name in dirs + files
    }


mutations = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.integers(0, 255)),
)


@settings(max_examples=300, deadline=None)
@given(directory_trees, st.lists(mutations, min_size=1, max_size=3))
def test_mutated_archives_fail_only_with_nar_errors_inside_the_sandbox(
    tree: Node, changes: list[tuple[str, int, int]]
) -> None:
    archive = bytearray(raw_nar(tree))
    for kind, position, value in changes:
        position %= len(archive) + 1
        if kind == "truncate":
            del archive[position:]
        elif kind == "flip" and position < len(archive):
            archive[position] ^= value
        elif kind == "insert":
            archive[position:position] = bytes([value])
    with tempfile.TemporaryDirectory() as scratch:
        sandbox = Path(scratch) / "sandbox"
        sandbox.mkdir()
        with contextlib.suppress(NarError):
            restore_bytes(bytes(archive), sandbox)
        assert all(entry.split(os.sep)[0] == "dest" for entry in entries_below(Path(scratch) / "sandbox"))
        assert os.listdir(scratch) == ["sandbox"]
        remove_tree(sandbox / "dest")
        assert os.listdir(sandbox) == []
