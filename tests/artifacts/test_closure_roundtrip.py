"""Done-when: a real closure staged as NARs + manifest and materialized into another root
without Nix is byte-identical (per `nix-store --dump`) and, once registered, valid to Nix."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from artifact_helpers import nix_dump, requires_nix

from fleetdocs.artifacts.closure import resolve_store_path, stage_path
from fleetdocs.artifacts.manifest import (
    ClosureManifest,
    DirManifest,
    FileManifest,
    decode_manifest,
)
from fleetdocs.artifacts.materialize import (
    materialize_closure,
    materialize_directory,
    materialize_file,
    register_closure,
    store_dir_under,
)
from fleetdocs.artifacts.nixstore import NixStore

pytestmark = requires_nix


def staged_closure(root_path: str, staging: Path) -> tuple[ClosureManifest, dict[str, Path]]:
    staged = stage_path(Path(root_path), staging)
    manifest = decode_manifest(staged.manifest_bytes)
    assert isinstance(manifest, ClosureManifest)
    return manifest, dict(staged.blobs)


def test_closure_materializes_byte_identical_without_nix(built_closure: str, tmp_path: Path) -> None:
    manifest, blobs = staged_closure(built_closure, tmp_path / "staging")
    closure = sorted(NixStore().closure(built_closure))
    assert [entry.path for entry in manifest.paths] == closure
    assert len(closure) >= 2
    root = tmp_path / "device"
    report = materialize_closure(manifest, blobs.__getitem__, root=root)
    assert sorted(report.written) == closure
    for path in closure:
        materialized = store_dir_under(root) / Path(path).name
        assert nix_dump(materialized) == nix_dump(path)
    assert sorted(p.name for p in store_dir_under(root).iterdir()) == [Path(path).name for path in closure]


def test_manifest_matches_what_nix_reports(built_closure: str, tmp_path: Path) -> None:
    manifest, blobs = staged_closure(built_closure, tmp_path / "staging")
    for entry in manifest.paths:
        hash_printed = subprocess.run(
            ["nix-store", "-q", "--hash", entry.path], capture_output=True, text=True, check=True
        ).stdout.strip()
        size_printed = subprocess.run(
            ["nix-store", "-q", "--size", entry.path], capture_output=True, text=True, check=True
        ).stdout.strip()
        references = subprocess.run(
            ["nix-store", "-q", "--references", entry.path],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert entry.nar_hash == hash_printed
        assert entry.nar_size == int(size_printed)
        assert list(entry.references) == sorted(references)
        assert blobs[entry.file].read_bytes() == nix_dump(entry.path)
    assert manifest.root == built_closure


def test_registered_paths_pass_nix_verification(built_closure: str, tmp_path: Path) -> None:
    manifest, blobs = staged_closure(built_closure, tmp_path / "staging")
    root = tmp_path / "device"
    materialize_closure(manifest, blobs.__getitem__, root=root)
    register_closure(manifest, root)
    for entry in manifest.paths:
        subprocess.run(["nix-store", "--store", str(root), "--verify-path", entry.path], check=True)
        assert nix_dump(entry.path, store=root) == nix_dump(entry.path)


def test_present_paths_are_skipped(built_closure: str, tmp_path: Path) -> None:
    manifest, blobs = staged_closure(built_closure, tmp_path / "staging")
    root = tmp_path / "device"
    first = materialize_closure(manifest, blobs.__getitem__, root=root)
    second = materialize_closure(manifest, blobs.__getitem__, root=root)
    assert second.written == ()
    assert sorted(second.skipped) == sorted(first.written)


def test_a_symlink_to_a_store_path_stages_its_closure(built_closure: str, tmp_path: Path) -> None:
    link = tmp_path / "result"
    link.symlink_to(built_closure)
    assert resolve_store_path(link) == built_closure
    assert resolve_store_path(tmp_path) is None


def test_progress_reaches_the_total(built_closure: str, tmp_path: Path) -> None:
    reports: list[tuple[int, int]] = []
    staged = stage_path(Path(built_closure), tmp_path / "staging", progress=lambda *r: reports.append(r))
    manifest = staged.manifest
    assert isinstance(manifest, ClosureManifest)
    assert reports[-1] == (manifest.total_nar_size, manifest.total_nar_size)
    assert all(done <= total for done, total in reports)


@pytest.mark.parametrize("kind", ["dir", "file"])
def test_dir_and_file_artifacts_round_trip(built_closure: str, tmp_path: Path, kind: str) -> None:
    source = tmp_path / "source"
    (source / "bin").mkdir(parents=True)
    (source / "bin" / "run").write_text("#!/bin/sh\n")
    (source / "bin" / "run").chmod(0o755)
    (source / "link").symlink_to("bin/run")
    target = source if kind == "dir" else source / "bin" / "run"
    staged = stage_path(target, tmp_path / "staging")
    manifest = decode_manifest(staged.manifest_bytes)
    destination = tmp_path / "out"
    if isinstance(manifest, DirManifest):
        materialize_directory(manifest, staged.blobs.__getitem__, destination)
        assert nix_dump(destination) == nix_dump(source)
    else:
        assert isinstance(manifest, FileManifest)
        assert manifest.executable
        materialize_file(manifest, staged.blobs.__getitem__, destination)
        assert destination.read_bytes() == target.read_bytes()
        assert destination.stat().st_mode & 0o777 == 0o555
