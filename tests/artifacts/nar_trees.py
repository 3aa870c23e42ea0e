"""Test-side NAR construction: random file trees for hypothesis and raw (possibly hostile) NARs.

The raw builder deliberately does no validation, so tests can produce archives with
unsorted, duplicate or dangerous names that the real writer could never emit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from fleetdocs.artifacts.nar import MAGIC, encode_string

# A node: ("file", contents, executable) | ("link", target) | ("dir", [(name, node), ...]).
Node = tuple[Any, ...]

NAME_ALPHABET = "aAbZz09-._+=é"
names = (
    st.text(NAME_ALPHABET, min_size=1, max_size=6)
    .map(str.encode)
    .filter(lambda name: name not in (b".", b".."))
)
files = st.tuples(st.just("file"), st.binary(max_size=300), st.booleans())
links = st.tuples(st.just("link"), st.sampled_from([b"a", b"sub/b", b"./c", b"/nix/store/x-y"]))


def _directories(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    entries = st.dictionaries(names, children, max_size=5)
    return entries.map(lambda found: ("dir", sorted(found.items())))


trees: st.SearchStrategy[Node] = st.recursive(files | links, _directories, max_leaves=12)
directory_trees = _directories(trees)


def write_tree(node: Node, path: Path) -> None:
    """Create `node` on disk at `path`."""
    if node[0] == "file":
        path.write_bytes(node[1])
        path.chmod(0o755 if node[2] else 0o644)
    elif node[0] == "link":
        os.symlink(node[1], path)
    else:
        path.mkdir()
        for name, child in node[1]:
            write_tree(child, Path(os.fsdecode(os.path.join(os.fsencode(path), name))))


def raw_nar(node: Node) -> bytes:
    """NAR bytes for `node`, entries in the given order, names unchecked."""
    return encode_string(MAGIC) + _raw_node(node)


def _raw_node(node: Node) -> bytes:
    s = encode_string
    if node[0] == "file":
        executable = s(b"executable") + s(b"") if node[2] else b""
        body = s(b"regular") + executable + s(b"contents") + s(node[1])
    elif node[0] == "link":
        body = s(b"symlink") + s(b"target") + s(node[1])
    else:
        body = s(b"directory")
        for name, child in node[1]:
            body += s(b"entry") + s(b"(") + s(b"name") + s(name) + s(b"node")
            body += _raw_node(child) + s(b")")
    return s(b"(") + s(b"type") + body + s(b")")
