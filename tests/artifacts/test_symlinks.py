"""Symlink confinement: what stays inside the store or tree and what escapes."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetdocs.artifacts.errors import SymlinkEscapeError
from fleetdocs.artifacts.symlinks import SymlinkConfinement

STORE = SymlinkConfinement((b"h-pkg",), b"/nix/store")
TREE = SymlinkConfinement((), None)


@pytest.mark.parametrize(
    ("confinement", "link", "target"),
    [
        (STORE, (b"bin", b"x"), b"../lib/x"),
        (STORE, (b"bin", b"x"), b"../../other-pkg/bin"),
        (STORE, (b"x",), b"/nix/store/h-other/lib"),
        (STORE, (), b"h-other"),
        (STORE, (b"a",), b"./b//c"),
        (TREE, (b"a", b"b"), b"../c"),
        (TREE, (b"a",), b"."),
    ],
)
def test_allowed(confinement: SymlinkConfinement, link: tuple[bytes, ...], target: bytes) -> None:
    confinement.check(link, target)


@pytest.mark.parametrize(
    ("confinement", "link", "target"),
    [
        (STORE, (b"bin", b"x"), b"../../../etc"),
        (STORE, (), b"../etc"),
        (STORE, (b"x",), b"/etc/passwd"),
        (STORE, (b"x",), b"/nix/storeX/y"),
        (STORE, (b"x",), b"/nix/store/a/../../etc"),
        (STORE, (b"a", b"b"), b"c/../../.."),
        (TREE, (b"a",), b"/nix/store/h-x"),
        (TREE, (b"a",), b"../b"),
        (TREE, (), b"anything"),
    ],
)
def test_escapes(confinement: SymlinkConfinement, link: tuple[bytes, ...], target: bytes) -> None:
    with pytest.raises(SymlinkEscapeError):
        confinement.check(link, target)


components = st.sampled_from([b"..", b".", b"", b"a", b"b"])


@given(
    st.lists(st.sampled_from([b"a", b"b"]), max_size=3),
    st.lists(components, min_size=1, max_size=6),
)
def test_accepted_targets_resolve_inside_the_store(
    link_directory: list[bytes], target_parts: list[bytes]
) -> None:
    """Whatever passes resolves (lexically, no intermediate links) to the store or below."""
    target = b"/".join(target_parts)
    link = (*link_directory, b"link")
    try:
        STORE.check(link, target)
    except SymlinkEscapeError:
        return
    base = posixpath.join(b"/nix/store/h-pkg", *link_directory)
    resolved = posixpath.normpath(posixpath.join(base, target))
    assert resolved == b"/nix/store" or resolved.startswith(b"/nix/store/")
