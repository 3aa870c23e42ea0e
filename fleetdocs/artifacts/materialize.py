"""Unpack artifacts onto a device without Nix, verifying every byte before it becomes visible.

For a closure, each missing store path is unpacked under a temporary name inside the target
store dir while its sha256 is computed; only when every missing path matched its narHash and
narSize are they flushed to disk and renamed into place, references first. So a store path
is either absent or complete and verified, and a bad blob leaves nothing behind.

Free space is checked against the total narSize of the missing paths before anything is
written. Blob files come from `blob_path(blake3_hex)`: the net layer has already fetched
them and checked their BLAKE3.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fleetdocs.artifacts.errors import (
    DestinationExistsError,
    InsufficientSpaceError,
    IntegrityError,
)
from fleetdocs.artifacts.hashing import HashingReader, HashingWriter
from fleetdocs.artifacts.manifest import ClosureManifest, DirManifest, FileManifest
from fleetdocs.artifacts.nar_restore import STORE_MTIME, remove_tree, restore_nar
from fleetdocs.artifacts.nixhash import format_nar_hash, parse_nar_hash
from fleetdocs.artifacts.nixstore import NixStore
from fleetdocs.artifacts.progress import ProgressCallback, ProgressMeter
from fleetdocs.artifacts.reginfo import PathInfo
from fleetdocs.artifacts.storepath import STORE_DIR, store_basename
from fleetdocs.artifacts.symlinks import SymlinkConfinement

BlobPath = Callable[[str], Path]
"""Maps a blob's BLAKE3 hex to the local file holding it."""

FreeSpace = Callable[[Path], int]
"""Bytes available on the file system holding a directory (injectable for tests)."""

SYSTEM_ROOT = Path("/")


def free_space(directory: Path) -> int:
    """Free bytes for an unprivileged writer at `directory` or its nearest existing ancestor."""
    while not directory.exists():
        directory = directory.parent
    return shutil.disk_usage(directory).free


@dataclass(frozen=True)
class MaterializeReport:
    """Which store paths were written and which were already present."""

    written: tuple[str, ...]
    skipped: tuple[str, ...]


def store_dir_under(root: Path) -> Path:
    """Where `/nix/store` is when the file system root is `root`."""
    return root / STORE_DIR.lstrip("/")


def materialize_closure(
    manifest: ClosureManifest,
    blob_path: BlobPath,
    *,
    root: Path = SYSTEM_ROOT,
    available: FreeSpace = free_space,
    progress: ProgressCallback | None = None,
) -> MaterializeReport:
    """Make every path of the closure present under `root`; see the module docstring."""
    store_dir = store_dir_under(root)
    order = manifest.dependency_order()
    missing = [entry for entry in order if not os.path.lexists(store_dir / store_basename(entry.path))]
    skipped = tuple(entry.path for entry in order if entry not in missing)
    needed = sum(entry.nar_size for entry in missing)
    _check_space(needed, store_dir, available)
    if not missing:
        return MaterializeReport((), skipped)
    store_dir.mkdir(parents=True, exist_ok=True)
    meter = ProgressMeter(needed, progress)
    staged: list[tuple[str, Path, Path]] = []
    try:
        for entry in missing:
            basename = store_basename(entry.path)
            temporary = store_dir / f".fleetdocs-{secrets.token_hex(8)}-{basename}"
            staged.append((entry.path, temporary, store_dir / basename))
            confinement = SymlinkConfinement((os.fsencode(basename),), os.fsencode(STORE_DIR))
            _unpack_verified(
                blob_path(entry.file),
                temporary,
                entry.path,
                entry.nar_hash,
                entry.nar_size,
                confinement,
                meter,
            )
        os.sync()
        published = {path for path, temporary, target in staged if _publish(temporary, target)}
    finally:
        for _, temporary, _ in staged:
            remove_tree(temporary)
    meter.finish()
    written = tuple(entry.path for entry in missing if entry.path in published)
    late = tuple(entry.path for entry in missing if entry.path not in published)
    return MaterializeReport(written, skipped + late)


def materialize_directory(
    manifest: DirManifest,
    blob_path: BlobPath,
    destination: Path,
    *,
    available: FreeSpace = free_space,
    progress: ProgressCallback | None = None,
) -> None:
    """Unpack a directory artifact as `destination` (which must not exist), read-only like Nix.

    Its symlinks must stay inside the directory: absolute targets are refused.
    """
    with _new_destination(destination, manifest.nar_size, available) as temporary:
        meter = ProgressMeter(manifest.nar_size, progress)
        _unpack_verified(
            blob_path(manifest.file),
            temporary,
            manifest.name,
            manifest.nar_hash,
            manifest.nar_size,
            SymlinkConfinement((), None),
            meter,
        )
        meter.finish()


def materialize_file(
    manifest: FileManifest,
    blob_path: BlobPath,
    destination: Path,
    *,
    available: FreeSpace = free_space,
    progress: ProgressCallback | None = None,
) -> None:
    """Copy a file artifact to `destination` (which must not exist), read-only like Nix."""
    with _new_destination(destination, manifest.size, available) as temporary:
        meter = ProgressMeter(manifest.size, progress)
        with open(blob_path(manifest.file), "rb") as source, open(temporary, "xb") as sink:
            writer = HashingWriter(sink, meter)
            while chunk := source.read(1 << 20):
                writer.write(chunk)
        if writer.blake3_hex() != manifest.file or writer.size != manifest.size:
            raise IntegrityError(f"blob of {manifest.name} does not match its manifest")
        os.chmod(temporary, 0o555 if manifest.executable else 0o444)
        os.utime(temporary, (STORE_MTIME, STORE_MTIME))
        meter.finish()


def register_closure(manifest: ClosureManifest, root: Path, nix: NixStore | None = None) -> None:
    """Tell Nix (if installed) that the closure's paths under `root` are valid store paths.

    With `root` = `/` this is the system store; any other root is used as a chroot store
    (`nix-store --store <root>`), whose `/nix/store` is `<root>/nix/store`.
    """
    nix = nix or NixStore(store=None if root == SYSTEM_ROOT else str(root))
    nix.register_validity(
        {entry.path: PathInfo(entry.nar_hash, entry.nar_size, entry.references) for entry in manifest.paths}
    )


def _check_space(needed: int, directory: Path, available: FreeSpace) -> None:
    free = available(directory)
    if needed > free:
        raise InsufficientSpaceError(
            f"closure larger than the free disk: needs {needed} bytes, {free} free at {directory}"
        )


@contextmanager
def _new_destination(destination: Path, size: int, available: FreeSpace) -> Iterator[Path]:
    """A temporary sibling of `destination`, renamed onto it only if the body succeeds."""
    if os.path.lexists(destination):
        raise DestinationExistsError(f"{destination} already exists")
    _check_space(size, destination.parent, available)
    temporary = destination.parent / f".fleetdocs-{secrets.token_hex(8)}-{destination.name}"
    try:
        yield temporary
        os.sync()
        if not _publish(temporary, destination):
            raise DestinationExistsError(f"{destination} appeared while it was being written")
    finally:
        remove_tree(temporary)


def _unpack_verified(
    blob: Path,
    temporary: Path,
    what: str,
    nar_hash: str,
    nar_size: int,
    confinement: SymlinkConfinement,
    meter: ProgressMeter,
) -> None:
    with open(blob, "rb") as source:
        reader = HashingReader(source, nar_size, what, meter)
        restore_nar(reader, temporary, confinement)
    if reader.size != nar_size or reader.sha256() != parse_nar_hash(nar_hash):
        raise IntegrityError(
            f"{what}: narHash mismatch (expected {nar_hash} of {nar_size} bytes, "
            f"got {format_nar_hash(reader.sha256())} of {reader.size})"
        )


def _publish(temporary: Path, target: Path) -> bool:
    """Rename into place unless something already took the name; True if we published."""
    if os.path.lexists(target):
        return False
    os.rename(temporary, target)
    return True
