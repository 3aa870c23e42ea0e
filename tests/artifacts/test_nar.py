"""The NAR writer is byte-identical to `nix-store --dump`; the reader round-trips it."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

from artifact_helpers import nix_dump, requires_nix
from hypothesis import HealthCheck, given, settings
from nar_trees import Node, trees, write_tree

from fleetdocs.artifacts.nar import dump_path, nar_size, write_nar
from fleetdocs.artifacts.nar_restore import restore_nar
from fleetdocs.artifacts.symlinks import SymlinkConfinement

pytestmark = requires_nix
STORE_CONFINEMENT = SymlinkConfinement((b"x-tree",), b"/nix/store")


def ours(path: Path) -> bytes:
    return b"".join(dump_path(path))


def test_every_path_of_a_real_closure(built_closure: str) -> None:
    for path in subprocess.run(
        ["nix-store", "-qR", built_closure], capture_output=True, text=True, check=True
    ).stdout.split():
        assert ours(Path(path)) == nix_dump(path)
        assert nar_size(Path(path)) == len(nix_dump(path))


def test_edge_cases_match_nix(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "empty-dir").mkdir(parents=True)
    (tree / "empty-file").write_bytes(b"")
    (tree / "exec").write_bytes(b"#!/bin/sh\n")
    (tree / "exec").chmod(0o700)
    (tree / "exactly-8").write_bytes(b"12345678")
    (tree / "dangling").symlink_to("/nowhere/at/all")
    for name in ["B", "a", "a-b", "a.b", "aa", "Z", "é", "e\u0301", "_"]:
        (tree / name).write_text(name)
    output = io.BytesIO()
    assert write_nar(tree, output) == len(nix_dump(tree))
    assert output.getvalue() == nix_dump(tree)
    for single in ["empty-file", "exec", "dangling", "empty-dir"]:
        assert ours(tree / single) == nix_dump(tree / single)


def test_large_file_streams_in_chunks(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(bytes(range(256)) * 12_289)  # > 3 MiB, not a multiple of 8
    chunks = list(dump_path(big))
    assert max(len(chunk) for chunk in chunks) <= 1 << 20
    assert b"".join(chunks) == nix_dump(big)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_random_trees_match_nix_and_round_trip(tree: Node) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "source"
        write_tree(tree, source)
        archive = ours(source)
        assert archive == nix_dump(source)
        restored = Path(scratch) / "restored"
        restore_nar(io.BytesIO(archive), restored, STORE_CONFINEMENT)
        assert ours(restored) == archive
        by_nix = Path(scratch) / "by-nix"
        subprocess.run(["nix-store", "--restore", str(by_nix)], input=archive, check=True)
        assert ours(by_nix) == archive
