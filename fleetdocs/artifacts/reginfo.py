"""Nix's "reginfo" text: the validity records of `nix-store --dump-db` / `--register-validity`.

One record per path: the path, its narHash in base16, its narSize, its deriver (empty here),
the number of references, then one reference per line. We read it to learn a closure's
hashes, sizes and references in one `nix-store` call, and write it to register materialized
paths so `nix-store --verify-path` accepts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fleetdocs.artifacts.errors import NixCommandError, NixHashError
from fleetdocs.artifacts.nixhash import nar_hash_from_base16, parse_nar_hash


@dataclass(frozen=True)
class PathInfo:
    """What Nix knows about one valid store path."""

    nar_hash: str  # sha256:<nix32>
    nar_size: int
    references: tuple[str, ...]


def encode_reginfo(infos: Mapping[str, PathInfo]) -> str:
    """Reginfo records for `infos`, in path order, without derivers."""
    lines: list[str] = []
    for path in sorted(infos):
        info = infos[path]
        lines += [path, parse_nar_hash(info.nar_hash).hex(), str(info.nar_size), ""]
        lines += [str(len(info.references)), *sorted(info.references)]
    return "".join(line + "\n" for line in lines)


def parse_reginfo(text: str) -> dict[str, PathInfo]:
    """Parse reginfo records; raises `NixCommandError` if nix printed something unexpected."""
    lines = text.split("\n")
    if lines[-1] != "":
        raise NixCommandError("reginfo does not end with a newline")
    lines.pop()
    infos: dict[str, PathInfo] = {}
    position = 0
    try:
        while position < len(lines):
            path, hash16, size, _deriver, count = lines[position : position + 5]
            position += 5
            references = tuple(lines[position : position + int(count)])
            position += len(references)
            if len(references) != int(count) or int(size) < 0:
                raise ValueError
            infos[path] = PathInfo(nar_hash_from_base16(hash16), int(size), references)
    except (ValueError, NixHashError):
        raise NixCommandError(f"unexpected reginfo record near line {position + 1}") from None
    return infos
