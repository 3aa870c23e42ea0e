"""Unpack a NAR stream onto disk with Nix's canonical metadata, never following a symlink.

Every file system call is relative to a directory file descriptor this module created
itself, with `O_NOFOLLOW`/`O_EXCL`, and entry names have already been validated by the
reader, so a hostile archive cannot make us write through a link or outside `destination`.
Permissions and timestamps are what Nix gives store paths: files 0444 (0555 if executable),
directories 0555, mtime 1; a directory is made read-only only after its last entry.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from fleetdocs.artifacts.nar_reader import (
    Directory,
    NarPath,
    NarReader,
    Readable,
    RegularFile,
    Symlink,
)
from fleetdocs.artifacts.symlinks import SymlinkConfinement

STORE_MTIME = 1
_OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def restore_nar(source: Readable, destination: Path, confinement: SymlinkConfinement) -> None:
    """Unpack the NAR read from `source` as `destination`, which must not exist yet.

    On error the partial tree is left for the caller to remove with `remove_tree`.
    """
    parent_fd = os.open(destination.parent, _OPEN_DIRECTORY)
    open_directories: list[tuple[NarPath, int]] = []
    try:
        for event in NarReader(source).events():
            while open_directories and open_directories[-1][0] != event.path[:-1]:
                _seal_directory(open_directories.pop()[1])
            if open_directories:
                dir_fd, name = open_directories[-1][1], event.path[-1]
            else:
                dir_fd, name = parent_fd, os.fsencode(destination.name)
            if isinstance(event, Directory):
                os.mkdir(name, 0o700, dir_fd=dir_fd)
                open_directories.append((event.path, os.open(name, _OPEN_DIRECTORY, dir_fd=dir_fd)))
            elif isinstance(event, Symlink):
                confinement.check(event.path, event.target)
                os.symlink(event.target, name, dir_fd=dir_fd)
                os.utime(name, (STORE_MTIME, STORE_MTIME), dir_fd=dir_fd, follow_symlinks=False)
            else:
                _write_file(dir_fd, name, event)
        while open_directories:
            _seal_directory(open_directories.pop()[1])
    finally:
        for _, fd in open_directories:
            os.close(fd)
        os.close(parent_fd)


def _write_file(dir_fd: int, name: bytes, event: RegularFile) -> None:
    fd = os.open(name, _CREATE_FILE, 0o600, dir_fd=dir_fd)
    try:
        _write_all(fd, event.chunks())
        os.fchmod(fd, 0o555 if event.executable else 0o444)
        os.utime(fd, (STORE_MTIME, STORE_MTIME))
    finally:
        os.close(fd)


def _write_all(fd: int, chunks: Iterable[bytes]) -> None:
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


def _seal_directory(fd: int) -> None:
    try:
        os.fchmod(fd, 0o555)
        os.utime(fd, (STORE_MTIME, STORE_MTIME))
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Delete a (possibly read-only, partially unpacked) tree without following symlinks."""
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return
    for directory, _, _ in os.walk(path):
        os.chmod(directory, 0o700)
    shutil.rmtree(path)
