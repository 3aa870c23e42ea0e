"""Manifests are canonical: one document, one spelling, one id; invalid closures are refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetdocs.artifacts.errors import ManifestError
from fleetdocs.artifacts.manifest import (
    ClosureManifest,
    DirManifest,
    FileManifest,
    Manifest,
    StorePathEntry,
    artifact_id,
    blobs_of,
    decode_manifest,
    encode_manifest,
)
from fleetdocs.artifacts.nixhash import format_nar_hash

HASH = format_nar_hash(bytes(32))
BLOB = "ab" * 32


def store_path(letter: str, name: str = "pkg") -> str:
    return f"/nix/store/{letter * 32}-{name}"


def path_entry(path: str, *references: str) -> StorePathEntry:
    return StorePathEntry(path, HASH, 8, tuple(sorted(references)), BLOB)


blob_hashes = st.text("0123456789abcdef", min_size=64, max_size=64)
artifact_names = st.text(min_size=1, max_size=20).filter(str.isprintable)


@st.composite
def closures(draw: st.DrawFn) -> ClosureManifest:
    letters = draw(st.lists(st.sampled_from("abcdfgh"), min_size=1, max_size=6, unique=True))
    paths = sorted(store_path(letter) for letter in letters)
    entries = []
    for index, path in enumerate(paths):
        # Reference only earlier paths (plus maybe itself) so the closure is acyclic.
        references = draw(st.sets(st.sampled_from(paths[: index + 1])))
        entries.append(
            StorePathEntry(
                path,
                format_nar_hash(draw(st.binary(min_size=32, max_size=32))),
                draw(st.integers(0, 1 << 50)),
                tuple(sorted(references)),
                draw(blob_hashes),
            )
        )
    return ClosureManifest(draw(artifact_names), draw(st.sampled_from(paths)), tuple(entries))


manifests: st.SearchStrategy[Manifest] = st.one_of(
    closures(),
    st.builds(DirManifest, artifact_names, blob_hashes, st.just(HASH), st.integers(0, 1 << 40)),
    st.builds(FileManifest, artifact_names, blob_hashes, st.integers(0, 1 << 40), st.booleans()),
)


@given(manifests)
def test_round_trip_is_canonical(manifest: Manifest) -> None:
    data = encode_manifest(manifest)
    assert decode_manifest(data) == manifest
    assert encode_manifest(decode_manifest(data)) == data
    assert artifact_id(data) == artifact_id(encode_manifest(manifest))
    assert len(artifact_id(data)) == 64


@given(manifests)
def test_other_spellings_are_refused(manifest: Manifest) -> None:
    document = json.loads(encode_manifest(manifest))
    with pytest.raises(ManifestError, match="canonical"):
        decode_manifest(json.dumps(document, indent=1).encode())


@given(manifests, st.integers(0, 10_000), st.binary(min_size=1, max_size=3))
def test_corrupted_bytes_fail_only_with_manifest_error(
    manifest: Manifest, position: int, junk: bytes
) -> None:
    data = bytearray(encode_manifest(manifest))
    position %= len(data)
    data[position : position + len(junk)] = junk
    try:
        decoded = decode_manifest(bytes(data))
    except ManifestError:
        return
    assert encode_manifest(decoded) == bytes(data)


def test_closure_blobs_and_order() -> None:
    dep, top = store_path("a", "dep"), store_path("b", "top")
    manifest = ClosureManifest("x", top, (path_entry(dep), path_entry(top, dep, top)))
    assert blobs_of(manifest) == {BLOB}
    assert [entry.path for entry in manifest.dependency_order()] == [dep, top]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            ClosureManifest("x", store_path("a"), (path_entry(store_path("a"), store_path("b")),)),
            "not in the closure",
        ),
        (
            ClosureManifest(
                "x",
                store_path("a"),
                (
                    path_entry(store_path("a"), store_path("b")),
                    path_entry(store_path("b"), store_path("a")),
                ),
            ),
            "cycle",
        ),
        (
            ClosureManifest("x", store_path("a"), (path_entry(store_path("b")), path_entry(store_path("a")))),
            "sorted",
        ),
        (ClosureManifest("x", store_path("c"), (path_entry(store_path("a")),)), "root"),
        (ClosureManifest("x", "/etc/passwd", (path_entry("/etc/passwd"),)), "not a valid path"),
        (
            ClosureManifest("x", store_path("a", ".."), (path_entry(store_path("a", "..")),)),
            "not a valid path",
        ),
        (FileManifest("", BLOB, 1, False), "artifact name"),
        (FileManifest("x", "AB" * 32, 1, False), "64 lowercase hex"),
        (DirManifest("x", BLOB, "sha256:xyz", 1), "nar_hash"),
        (FileManifest("x", BLOB, -1, False), "non-negative"),
    ],
)
def test_invalid_manifests_are_refused(manifest: Manifest, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        encode_manifest(manifest)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'{"v":2}', "version"),
        (b'{"kind":"tarball","name":"x","v":1}', "unknown artifact kind"),
        (
            b'{"executable":true,"file":"' + BLOB.encode() + b'","kind":"file","name":"x","size":1.5,"v":1}',
            "non-integer",
        ),
        (
            b'{"extra":1,"executable":true,"file":"'
            + BLOB.encode()
            + b'","kind":"file","name":"x","size":1,"v":1}',
            "unknown fields",
        ),
        (b"\xff", "UTF-8"),
        (b"[]", "JSON object"),
    ],
)
def test_invalid_documents_are_refused(document: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        decode_manifest(document)
