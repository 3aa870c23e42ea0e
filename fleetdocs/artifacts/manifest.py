"""Artifact manifests: canonical JSON documents whose BLAKE3 is the artifact id.

Three kinds share one envelope `{"v": 1, "kind": ..., "name": ...}`:

* `nix-closure`: every store path of a closure with its narHash, narSize, references and the
  BLAKE3 of its NAR blob, so an agent fetches exactly the blobs it lacks;
* `dir`: one directory stored as one NAR blob;
* `file`: one file stored as itself.

Canonical means: keys sorted, no whitespace, UTF-8, integers only, lists sorted. Decoding
rejects any other spelling of the same document, so one artifact has exactly one id, and it
rejects closures that are incomplete (a reference outside the closure) or cyclic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import blake3

from fleetdocs.artifacts.errors import ManifestError, NixHashError
from fleetdocs.artifacts.nixhash import parse_nar_hash
from fleetdocs.artifacts.storepath import store_basename
from fleetdocs.canonical import canonical_bytes, decode_json

MANIFEST_VERSION = 1
MAX_NAME_LENGTH = 255
_BLAKE3_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class StorePathEntry:
    """One store path of a closure and the blob holding its NAR."""

    path: str
    nar_hash: str
    nar_size: int
    references: tuple[str, ...]
    file: str


@dataclass(frozen=True)
class ClosureManifest:
    """A Nix closure; `paths` are sorted by path and closed under references."""

    kind: ClassVar[str] = "nix-closure"
    name: str
    root: str
    paths: tuple[StorePathEntry, ...]

    def dependency_order(self) -> tuple[StorePathEntry, ...]:
        """Entries with every path after all paths it references (self-references aside)."""
        return _dependency_order(self.paths)

    @property
    def total_nar_size(self) -> int:
        return sum(entry.nar_size for entry in self.paths)


@dataclass(frozen=True)
class DirManifest:
    """A directory tree stored as one NAR blob."""

    kind: ClassVar[str] = "dir"
    name: str
    file: str
    nar_hash: str
    nar_size: int


@dataclass(frozen=True)
class FileManifest:
    """A single file stored as itself."""

    kind: ClassVar[str] = "file"
    name: str
    file: str
    size: int
    executable: bool


Manifest = ClosureManifest | DirManifest | FileManifest


def encode_manifest(manifest: Manifest) -> bytes:
    """The canonical bytes of `manifest` (validated first, so bad manifests never get an id)."""
    document = _to_document(manifest)
    _from_document(document)
    return canonical_bytes(document)


def decode_manifest(data: bytes) -> Manifest:
    """Parse and validate manifest bytes that must already be canonical."""
    try:
        document = decode_json(data, _DECODER)
    except ValueError as error:  # UnicodeDecodeError too
        raise ManifestError(f"manifest is not UTF-8 JSON: {error}") from None
    manifest = _from_document(document)
    if canonical_bytes(document) != data:
        raise ManifestError("manifest is not in canonical form (sorted keys, no whitespace)")
    return manifest


def artifact_id(manifest_bytes: bytes) -> str:
    """An artifact's id: the BLAKE3 hex of its canonical manifest bytes."""
    digest: str = blake3.blake3(manifest_bytes).hexdigest()
    return digest


def blobs_of(manifest: Manifest) -> frozenset[str]:
    """The BLAKE3 hashes of every blob the artifact needs (besides the manifest itself)."""
    if isinstance(manifest, ClosureManifest):
        return frozenset(entry.file for entry in manifest.paths)
    return frozenset({manifest.file})



def _reject_float(text: str) -> None:
    raise ManifestError(f"manifest contains a non-integer number {text}")


_DECODER = json.JSONDecoder(parse_float=_reject_float, parse_constant=_reject_float)


def _to_document(manifest: Manifest) -> dict[str, Any]:
    header: dict[str, Any] = {"v": MANIFEST_VERSION, "kind": manifest.kind, "name": manifest.name}
    if isinstance(manifest, ClosureManifest):
        paths = [
            {
                "path": entry.path,
                "nar_hash": entry.nar_hash,
                "nar_size": entry.nar_size,
                "references": list(entry.references),
                "file": entry.file,
            }
            for entry in manifest.paths
        ]
        return {**header, "root": manifest.root, "paths": paths}
    if isinstance(manifest, DirManifest):
        return {**header, "file": manifest.file, "nar_hash": manifest.nar_hash, "nar_size": manifest.nar_size}
    return {**header, "file": manifest.file, "size": manifest.size, "executable": manifest.executable}


def _from_document(document: Any) -> Manifest:
    envelope = _object(document, "manifest")
    if envelope.get("v") != MANIFEST_VERSION:
        raise ManifestError(f"unsupported manifest version {envelope.get('v')!r}")
    kind = envelope.get("kind")
    name = _string(envelope.get("name"), "name")
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise ManifestError(f"artifact name {name!r} is empty, too long or not printable")
    if kind == ClosureManifest.kind:
        _keys(envelope, {"v", "kind", "name", "root", "paths"}, "closure manifest")
        return _closure(name, envelope)
    if kind == DirManifest.kind:
        _keys(envelope, {"v", "kind", "name", "file", "nar_hash", "nar_size"}, "dir manifest")
        return DirManifest(
            name,
            _blake3(envelope["file"]),
            _nar_hash(envelope["nar_hash"]),
            _size(envelope["nar_size"], "nar_size"),
        )
    if kind == FileManifest.kind:
        _keys(envelope, {"v", "kind", "name", "file", "size", "executable"}, "file manifest")
        executable = envelope["executable"]
        if not isinstance(executable, bool):
            raise ManifestError("file manifest 'executable' must be true or false")
        return FileManifest(name, _blake3(envelope["file"]), _size(envelope["size"], "size"), executable)
    raise ManifestError(f"unknown artifact kind {kind!r}")


def _closure(name: str, envelope: Mapping[str, Any]) -> ClosureManifest:
    root = _string(envelope["root"], "root")
    raw_paths = envelope["paths"]
    if not isinstance(raw_paths, list) or not raw_paths:
        raise ManifestError("closure manifest 'paths' must be a non-empty list")
    entries = tuple(_entry(raw) for raw in raw_paths)
    names = [entry.path for entry in entries]
    if names != sorted(set(names)):
        raise ManifestError("closure paths must be sorted by path and unique")
    known = set(names)
    if root not in known:
        raise ManifestError(f"closure root {root!r} is not among its paths")
    for entry in entries:
        missing = set(entry.references) - known
        if missing:
            raise ManifestError(f"{entry.path} references {min(missing)}, not in the closure")
    _dependency_order(entries)
    return ClosureManifest(name, root, entries)


def _entry(raw: Any) -> StorePathEntry:
    entry = _object(raw, "closure path")
    _keys(entry, {"path", "nar_hash", "nar_size", "references", "file"}, "closure path")
    path = _string(entry["path"], "path")
    store_basename(path)
    references = entry["references"]
    if not isinstance(references, list):
        raise ManifestError(f"references of {path} must be a list")
    for reference in references:
        store_basename(_string(reference, "reference"))
    if references != sorted(set(references)):
        raise ManifestError(f"references of {path} must be sorted and unique")
    return StorePathEntry(
        path,
        _nar_hash(entry["nar_hash"]),
        _size(entry["nar_size"], "nar_size"),
        tuple(references),
        _blake3(entry["file"]),
    )


def _dependency_order(entries: tuple[StorePathEntry, ...]) -> tuple[StorePathEntry, ...]:
    by_path = {entry.path: entry for entry in entries}
    placed: dict[str, StorePathEntry] = {}
    remaining = dict(by_path)
    while remaining:
        ready = [
            entry
            for entry in remaining.values()
            if all(ref in placed or ref == entry.path for ref in entry.references)
        ]
        if not ready:
            raise ManifestError(f"closure has a reference cycle through {min(remaining)}")
        for entry in ready:
            placed[entry.path] = entry
            del remaining[entry.path]
    return tuple(placed.values())


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(f"{what} must be a JSON object")
    return value


def _keys(document: Mapping[str, Any], expected: set[str], what: str) -> None:
    if set(document) != expected:
        difference = sorted(set(document) ^ expected)
        raise ManifestError(f"{what} has missing or unknown fields: {', '.join(difference)}")


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ManifestError(f"manifest field {what!r} must be a string")
    return value


def _size(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ManifestError(f"manifest field {what!r} must be a non-negative integer")
    return value


def _blake3(value: Any) -> str:
    text = _string(value, "file")
    if not _BLAKE3_HEX.fullmatch(text):
        raise ManifestError(f"blob hash {text!r} is not 64 lowercase hex digits")
    return text


def _nar_hash(value: Any) -> str:
    text = _string(value, "nar_hash")
    try:
        parse_nar_hash(text)
    except NixHashError as error:
        raise ManifestError(f"bad nar_hash: {error}") from None
    return text
