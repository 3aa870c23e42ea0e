"""Hostile blobs and manifests are refused before anything becomes visible in the store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3
import pytest
from nar_trees import Node, raw_nar

from fleetdocs.artifacts.errors import (
    DestinationExistsError,
    InsufficientSpaceError,
    IntegrityError,
    NarNameError,
    NarOrderError,
    NarTruncatedError,
    SymlinkEscapeError,
)
from fleetdocs.artifacts.manifest import ClosureManifest, DirManifest, StorePathEntry
from fleetdocs.artifacts.materialize import (
    materialize_closure,
    materialize_directory,
    store_dir_under,
)
from fleetdocs.artifacts.nixhash import format_nar_hash

DEP = "/nix/store/" + "a" * 32 + "-dep"
TOP = "/nix/store/" + "b" * 32 + "-top"
GOOD: Node = ("dir", [(b"bin", ("dir", [(b"run", ("file", b"#!/bin/sh\n", True))]))])


class Blobs:
    """Blob files on disk, looked up by BLAKE3 like the net layer would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir()

    def add(self, data: bytes) -> str:
        digest: str = blake3.blake3(data).hexdigest()
        (self.directory / digest).write_bytes(data)
        return digest

    def path(self, digest: str) -> Path:
        return self.directory / digest


def entry(blobs: Blobs, path: str, archive: bytes, refs: tuple[str, ...] = ()) -> StorePathEntry:
    nar_hash = format_nar_hash(hashlib.sha256(archive).digest())
    return StorePathEntry(path, nar_hash, len(archive), refs, blobs.add(archive))


def closure(*entries: StorePathEntry) -> ClosureManifest:
    return ClosureManifest("test", entries[-1].path, tuple(sorted(entries, key=lambda e: e.path)))


def assert_nothing_visible(root: Path) -> None:
    store = store_dir_under(root)
    assert not store.exists() or os.listdir(store) == []


@pytest.mark.parametrize(
    ("top", "error"),
    [
        (("dir", [(b"..", ("file", b"x", False))]), NarNameError),
        (("dir", [(b"a/b", ("file", b"x", False))]), NarNameError),
        (("dir", [(b"b", GOOD), (b"a", GOOD)]), NarOrderError),
        (("dir", [(b"a", GOOD), (b"a", GOOD)]), NarOrderError),
        (("dir", [(b"l", ("link", b"/etc/shadow"))]), SymlinkEscapeError),
        (("dir", [(b"l", ("link", b"../../../etc"))]), SymlinkEscapeError),
        (("dir", [(b"l", ("link", b"/nix/store/../../etc"))]), SymlinkEscapeError),
    ],
)
def test_hostile_store_path_leaves_the_store_untouched(
    tmp_path: Path, top: Node, error: type[Exception]
) -> None:
    blobs = Blobs(tmp_path / "blobs")
    manifest = closure(entry(blobs, DEP, raw_nar(GOOD)), entry(blobs, TOP, raw_nar(top), (DEP,)))
    root = tmp_path / "root"
    with pytest.raises(error):
        materialize_closure(manifest, blobs.path, root=root)
    assert_nothing_visible(root)


def test_nar_hash_mismatch_is_refused(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    good = entry(blobs, DEP, raw_nar(GOOD))
    other = raw_nar(("dir", [(b"bin", ("file", b"evil", True))]))
    forged = StorePathEntry(TOP, good.nar_hash, len(other), (), blobs.add(other))
    root = tmp_path / "root"
    with pytest.raises(IntegrityError, match="narHash mismatch"):
        materialize_closure(closure(good, forged), blobs.path, root=root)
    assert_nothing_visible(root)


def test_blob_larger_than_its_nar_size_is_refused(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    archive = raw_nar(GOOD)
    honest = entry(blobs, TOP, archive)
    lying = StorePathEntry(TOP, honest.nar_hash, len(archive) - 8, (), honest.file)
    root = tmp_path / "root"
    with pytest.raises(IntegrityError, match="larger than its narSize"):
        materialize_closure(closure(lying), blobs.path, root=root)
    assert_nothing_visible(root)


def test_truncated_blob_is_refused(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    archive = raw_nar(GOOD)
    honest = entry(blobs, TOP, archive)
    truncated = StorePathEntry(TOP, honest.nar_hash, honest.nar_size, (), blobs.add(archive[:-9]))
    root = tmp_path / "root"
    with pytest.raises(NarTruncatedError):
        materialize_closure(closure(truncated), blobs.path, root=root)
    assert_nothing_visible(root)


def test_closure_larger_than_the_free_disk_writes_nothing(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    manifest = closure(entry(blobs, DEP, raw_nar(GOOD)), entry(blobs, TOP, raw_nar(GOOD), (DEP,)))
    root = tmp_path / "root"
    asked: list[Path] = []

    def almost_enough(directory: Path) -> int:
        asked.append(directory)
        return manifest.total_nar_size - 1

    with pytest.raises(InsufficientSpaceError, match="closure larger than the free disk"):
        materialize_closure(manifest, blobs.path, root=root, available=almost_enough)
    assert asked == [store_dir_under(root)]
    assert not root.exists()
    report = materialize_closure(manifest, blobs.path, root=root, available=lambda _: manifest.total_nar_size)
    assert sorted(report.written) == [DEP, TOP]


def test_only_missing_paths_count_against_free_space(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    dep = entry(blobs, DEP, raw_nar(GOOD))
    root = tmp_path / "root"
    materialize_closure(closure(dep), blobs.path, root=root)
    top = entry(blobs, TOP, raw_nar(("file", b"x", False)), (DEP,))
    report = materialize_closure(closure(dep, top), blobs.path, root=root, available=lambda _: top.nar_size)
    assert report == type(report)((TOP,), (DEP,))
    assert (store_dir_under(root) / Path(TOP).name).read_bytes() == b"x"


def test_materialized_permissions_follow_nix(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    tree: Node = ("dir", [(b"data", ("file", b"d", False)), (b"exe", ("file", b"e", True))])
    root = tmp_path / "root"
    materialize_closure(closure(entry(blobs, TOP, raw_nar(tree))), blobs.path, root=root)
    top = store_dir_under(root) / Path(TOP).name
    assert (top.stat().st_mode & 0o7777, top.stat().st_mtime) == (0o555, 1)
    assert (top / "data").stat().st_mode & 0o7777 == 0o444
    assert (top / "exe").stat().st_mode & 0o7777 == 0o555


def test_directory_artifacts_refuse_absolute_links_and_existing_targets(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path / "blobs")
    archive = raw_nar(("dir", [(b"l", ("link", b"/nix/store/x"))]))
    nar_hash = format_nar_hash(hashlib.sha256(archive).digest())
    manifest = DirManifest("d", blobs.add(archive), nar_hash, len(archive))
    destination = tmp_path / "out"
    with pytest.raises(SymlinkEscapeError):
        materialize_directory(manifest, blobs.path, destination)
    assert sorted(os.listdir(tmp_path)) == ["blobs"]
    destination.mkdir()
    with pytest.raises(DestinationExistsError):
        materialize_directory(manifest, blobs.path, destination)
