"""Which symlink targets an unpacked tree may contain.

Symlinks are written verbatim (a NAR cannot be faithful otherwise) and are never followed
while unpacking, but a device must not receive a store path whose links lead outside the
store: a later tool that follows them would read or write arbitrary files. The rule is
lexical and deliberately strict, so it does not depend on what else exists on disk:

* an absolute target must lie under the allowed absolute prefix (the store dir) and has no
  `..` component at all;
* a relative target may climb with leading `..` components only (`../../lib/x`), never after
  a named component (`a/../..` could climb out through a symlink `a`), and never above the
  confinement directory.

Targets such as `lib/../../x` that real Nix builds practically never produce are rejected
rather than resolved.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetdocs.artifacts.errors import SymlinkEscapeError
from fleetdocs.artifacts.nar_reader import NarPath

_NO_OP_COMPONENTS = (b"", b".")


@dataclass(frozen=True)
class SymlinkConfinement:
    """Where the links of one tree may point.

    `tree_location` is the tree root's path below the confinement directory: for a store
    path `(b"<hash>-<name>",)` under the store dir, for a plain directory artifact `()`.
    `absolute_prefix` is the directory absolute targets must stay under (the store dir), or
    None when absolute targets are not allowed at all.
    """

    tree_location: NarPath
    absolute_prefix: bytes | None

    def check(self, link_path: NarPath, target: bytes) -> None:
        """Raise `SymlinkEscapeError` if `target`, stored at `link_path`, leaves the confinement."""
        if target.startswith(b"/"):
            self._check_absolute(target)
        else:
            self._check_relative(link_path, target)

    def _check_absolute(self, target: bytes) -> None:
        prefix = self.absolute_prefix
        if prefix is None or not (target == prefix or target.startswith(prefix + b"/")):
            allowed = "the tree" if prefix is None else prefix.decode(errors="replace")
            raise SymlinkEscapeError(f"symlink target {target!r} is absolute and outside {allowed}")
        if b".." in target.split(b"/"):
            raise SymlinkEscapeError(f"symlink target {target!r} contains '..'")

    def _check_relative(self, link_path: NarPath, target: bytes) -> None:
        climbs = 0
        named = False
        for component in target.split(b"/"):
            if component in _NO_OP_COMPONENTS:
                continue
            if component != b"..":
                named = True
            elif named:
                raise SymlinkEscapeError(f"symlink target {target!r} has '..' after a name")
            else:
                climbs += 1
        parent_depth = len(self.tree_location) + len(link_path) - 1
        if climbs > parent_depth:
            raise SymlinkEscapeError(f"symlink target {target!r} climbs out of its tree")
