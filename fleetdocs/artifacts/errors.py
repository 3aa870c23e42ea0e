"""Exceptions for artifacts: one class per thing an operator (or a hostile peer) can get wrong.

All derive from `fleetdocs.errors.FleetdocsError` so the CLI prints them as one line; the
subclasses let callers (and tests) tell a hostile archive from a full disk from a missing nix.
"""

from __future__ import annotations

from fleetdocs.errors import FleetdocsError


class ArtifactError(FleetdocsError):
    """Base class of every artifact failure."""


class NarError(ArtifactError):
    """A NAR archive is malformed, hostile or cannot be written for the given tree."""


class NarFormatError(NarError):
    """The bytes are not a well-formed canonical NAR (magic, tokens, padding, trailing data)."""


class NarTruncatedError(NarError):
    """The archive ended before its structure was complete."""


class NarNameError(NarError):
    """A directory entry name is empty, `.`, `..`, contains `/` or NUL, or is too long."""


class NarOrderError(NarError):
    """Directory entries are duplicated or not in Nix's byte-wise sorted order."""


class NarLimitError(NarError):
    """A string or the nesting depth exceeds what any real store path needs."""


class SymlinkEscapeError(NarError):
    """A symlink target would point outside the tree it is confined to."""


class UnsupportedFileError(NarError):
    """The tree holds something a NAR cannot represent (socket, device, fifo)."""


class NixHashError(ArtifactError):
    """A hash string is not valid Nix base32 / `sha256:<nix32>` of the right length."""


class ManifestError(ArtifactError):
    """An artifact manifest is not canonical JSON or violates the manifest schema."""


class IntegrityError(ArtifactError):
    """Unpacked data does not match the narHash/narSize the manifest promises."""


class InsufficientSpaceError(ArtifactError):
    """The closure is larger than the free disk; nothing was written."""


class DestinationExistsError(ArtifactError):
    """The target of a file/dir materialization already exists and would be overwritten."""


class NixCommandError(ArtifactError):
    """A `nix-store` invocation failed or is unavailable."""
