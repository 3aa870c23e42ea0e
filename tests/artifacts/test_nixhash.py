"""Nix base32 and narHash notation agree with real nix and reject malformed input."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from artifact_helpers import requires_nix
from hypothesis import given
from hypothesis import strategies as st

from fleetdocs.artifacts.errors import NixHashError
from fleetdocs.artifacts.nixhash import (
    decode_nix32,
    encode_nix32,
    format_nar_hash,
    nar_hash_from_base16,
    nix32_length,
    parse_nar_hash,
)


@requires_nix
def test_matches_nix_hash_to_base32() -> None:
    for data in [b"", b"a", b"fleetdocs" * 100]:
        digest = hashlib.sha256(data).hexdigest()
        printed = subprocess.run(
            ["nix-hash", "--type", "sha256", "--to-base32", digest],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert nar_hash_from_base16(digest) == "sha256:" + printed


@requires_nix
def test_matches_nix_store_query_hash(built_closure: str) -> None:
    printed = subprocess.run(
        ["nix-store", "-q", "--hash", built_closure], capture_output=True, text=True, check=True
    ).stdout.strip()
    dump = subprocess.run(["nix-store", "--dump", built_closure], capture_output=True, check=True).stdout
    assert format_nar_hash(hashlib.sha256(dump).digest()) == printed


@given(st.binary(min_size=1, max_size=64))
def test_round_trip(digest: bytes) -> None:
    text = encode_nix32(digest)
    assert len(text) == nix32_length(len(digest))
    assert decode_nix32(text, len(digest)) == digest


@given(st.binary(min_size=32, max_size=32))
def test_nar_hash_round_trip(digest: bytes) -> None:
    assert parse_nar_hash(format_nar_hash(digest)) == digest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("md5:" + "0" * 52, "must start with"),
        ("sha256:" + "0" * 51, "51 digits"),
        ("sha256:" + "e" * 52, "invalid nix32 digit"),
        ("sha256:z" + "0" * 51, "bits beyond"),
    ],
)
def test_malformed_hashes_are_rejected(text: str, message: str) -> None:
    with pytest.raises(NixHashError, match=message):
        parse_nar_hash(text)


def test_bad_base16_is_rejected() -> None:
    with pytest.raises(NixHashError):
        nar_hash_from_base16("xyz")
    with pytest.raises(NixHashError):
        nar_hash_from_base16("00" * 31)
