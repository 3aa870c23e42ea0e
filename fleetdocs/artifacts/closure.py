"""Stage an artifact for publishing: NAR blobs in a staging directory plus its manifest.

The net layer adds every staged blob to iroh from its file (the binding copies `bytes`
arguments byte by byte, so files are the fast path) and stores the manifest bytes as the
artifact's own blob. For a Nix store path the whole closure is staged, one NAR per path; our
NAR of each path is checked against the narHash Nix recorded, so a writer bug or a corrupted
store is caught on the admin's machine and not on a device.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fleetdocs.artifacts.errors import ArtifactError, IntegrityError, UnsupportedFileError
from fleetdocs.artifacts.hashing import HashingWriter
from fleetdocs.artifacts.manifest import (
    ClosureManifest,
    DirManifest,
    FileManifest,
    Manifest,
    StorePathEntry,
    artifact_id,
    encode_manifest,
)
from fleetdocs.artifacts.nar import dump_path, nar_size
from fleetdocs.artifacts.nixhash import format_nar_hash
from fleetdocs.artifacts.nixstore import NixStore
from fleetdocs.artifacts.progress import ProgressCallback, ProgressMeter
from fleetdocs.artifacts.storepath import STORE_DIR, is_store_path

_MAX_LINK_HOPS = 40


@dataclass(frozen=True)
class StagedArtifact:
    """A manifest, its id, and the local file of every blob it names."""

    manifest: Manifest
    manifest_bytes: bytes
    artifact_id: str
    blobs: Mapping[str, Path]


def stage_path(
    path: Path,
    staging_dir: Path,
    *,
    name: str | None = None,
    nix: NixStore | None = None,
    progress: ProgressCallback | None = None,
) -> StagedArtifact:
    """Stage a store path (or a link to one, like `./result`) as a closure, else a dir or file."""
    store_path = resolve_store_path(path)
    if store_path is not None:
        return stage_closure(store_path, staging_dir, name=name, nix=nix, progress=progress)
    if path.is_dir() and not path.is_symlink():
        return stage_directory(path, staging_dir, name=name, progress=progress)
    if path.is_file():
        return stage_file(path, name=name, progress=progress)
    raise UnsupportedFileError(f"{path}: not a store path, directory or regular file")


def resolve_store_path(path: Path) -> str | None:
    """The store path `path` is or links to, or None if it leads elsewhere."""
    current = os.path.abspath(path)
    for _ in range(_MAX_LINK_HOPS):
        if is_store_path(current):
            return current
        if not os.path.islink(current):
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return None


def stage_closure(
    store_path: str,
    staging_dir: Path,
    *,
    name: str | None = None,
    nix: NixStore | None = None,
    progress: ProgressCallback | None = None,
) -> StagedArtifact:
    """Write one NAR per path of `store_path`'s closure into `staging_dir`."""
    nix = nix or NixStore()
    paths = sorted(nix.closure(store_path))
    infos = nix.path_infos(paths)
    meter = ProgressMeter(sum(info.nar_size for info in infos.values()), progress)
    entries: list[StorePathEntry] = []
    blobs: dict[str, Path] = {}
    for path in paths:
        info = infos[path]
        writer, blob = _write_nar(Path(path), staging_dir, meter)
        nar_hash = format_nar_hash(writer.sha256())
        if nar_hash != info.nar_hash or writer.size != info.nar_size:
            raise IntegrityError(f"our NAR of {path} differs from the narHash nix recorded")
        entries.append(StorePathEntry(path, nar_hash, writer.size, tuple(sorted(info.references)), blob.stem))
        blobs[blob.stem] = blob
    meter.finish()
    manifest = ClosureManifest(name or _default_name(store_path), store_path, tuple(entries))
    return _staged(manifest, blobs)


def stage_directory(
    path: Path,
    staging_dir: Path,
    *,
    name: str | None = None,
    progress: ProgressCallback | None = None,
) -> StagedArtifact:
    """Write the NAR of directory `path` into `staging_dir`."""
    meter = ProgressMeter(nar_size(path), progress)
    writer, blob = _write_nar(path, staging_dir, meter)
    meter.finish()
    manifest = DirManifest(
        name or path.resolve().name, blob.stem, format_nar_hash(writer.sha256()), writer.size
    )
    return _staged(manifest, {blob.stem: blob})


def stage_file(
    path: Path, *, name: str | None = None, progress: ProgressCallback | None = None
) -> StagedArtifact:
    """Hash a single file in place: its blob is the file itself, nothing is copied.

    The file must not change until the net layer has added it; the net layer compares the
    hash iroh computes with the manifest's, so a change is detected rather than published.
    """
    size = path.stat().st_size
    meter = ProgressMeter(size, progress)
    with open(path, "rb") as source, open(os.devnull, "wb") as sink:
        writer = HashingWriter(sink, meter)
        while chunk := source.read(1 << 20):
            writer.write(chunk)
    meter.finish()
    if writer.size != size:
        raise ArtifactError(f"{path} changed size while it was being hashed")
    executable = bool(path.stat().st_mode & 0o100)
    manifest = FileManifest(name or path.name, writer.blake3_hex(), size, executable)
    return _staged(manifest, {manifest.file: path})


def _write_nar(path: Path, staging_dir: Path, meter: ProgressMeter) -> tuple[HashingWriter, Path]:
    """Stream the NAR of `path` into `staging_dir/<blake3>.nar` (atomically, deduplicated)."""
    staging_dir.mkdir(parents=True, exist_ok=True)
    temporary = staging_dir / f".partial-{secrets.token_hex(8)}"
    try:
        with open(temporary, "wb") as sink:
            writer = HashingWriter(sink, meter)
            for chunk in dump_path(path):
                writer.write(chunk)
        blob = staging_dir / f"{writer.blake3_hex()}.nar"
        os.replace(temporary, blob)
    finally:
        temporary.unlink(missing_ok=True)
    return writer, blob


def _staged(manifest: Manifest, blobs: Mapping[str, Path]) -> StagedArtifact:
    manifest_bytes = encode_manifest(manifest)
    return StagedArtifact(manifest, manifest_bytes, artifact_id(manifest_bytes), dict(blobs))


def _default_name(store_path: str) -> str:
    """`hello-2.12` for `/nix/store/<hash>-hello-2.12`."""
    return store_path[len(STORE_DIR) + 1 + 33 :]
