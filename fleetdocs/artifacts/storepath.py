"""What a Nix store path looks like, checked before any path from a manifest touches disk."""

from __future__ import annotations

import re

from fleetdocs.artifacts.errors import ManifestError

STORE_DIR = "/nix/store"
_BASENAME = re.compile(r"[0123456789abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+\-._?=]{1,211}")


def is_store_path(path: str) -> bool:
    """True for `/nix/store/<32 nix32 chars>-<name>` with a name Nix itself would accept."""
    prefix = STORE_DIR + "/"
    if not path.startswith(prefix):
        return False
    basename = path[len(prefix) :]
    return _BASENAME.fullmatch(basename) is not None and not basename[33:].startswith(".")


def store_basename(path: str) -> str:
    """`<hash>-<name>` of a valid store path; raises `ManifestError` for anything else."""
    if not is_store_path(path):
        raise ManifestError(f"{path!r} is not a valid path in {STORE_DIR}")
    return path[len(STORE_DIR) + 1 :]
