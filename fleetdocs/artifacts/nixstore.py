"""The few `nix-store` commands artifacts need, on the admin side and optionally on devices.

Admins query a closure and its validity records; devices never need Nix, but where it is
installed they can register materialized paths so Nix treats them as valid (`--verify-path`,
garbage collection roots). `store` is passed as `--store`: a directory there is a chroot
store whose `/nix/store` lives below it, which is how tests use a temporary root.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fleetdocs.artifacts.errors import NixCommandError
from fleetdocs.artifacts.reginfo import PathInfo, encode_reginfo, parse_reginfo


@dataclass(frozen=True)
class NixStore:
    """A `nix-store` executable and the store it operates on (None: the system store)."""

    executable: str = "nix-store"
    store: str | None = None

    def available(self) -> bool:
        """Whether the executable can be found (devices usually have no Nix)."""
        return shutil.which(self.executable) is not None

    def closure(self, path: str) -> list[str]:
        """Every path `path` depends on, itself included (`nix-store -qR`)."""
        return self._run(["--query", "--requisites", path]).split()

    def path_infos(self, paths: Sequence[str]) -> dict[str, PathInfo]:
        """narHash, narSize and references of `paths`, in one `nix-store --dump-db` call."""
        infos = parse_reginfo(self._run(["--dump-db", *paths]))
        if set(infos) != set(paths):
            raise NixCommandError("nix-store --dump-db did not describe exactly the paths asked")
        return infos

    def register_validity(self, infos: Mapping[str, PathInfo]) -> None:
        """Mark paths already on disk as valid; paths Nix already knows are left alone."""
        self._run(["--register-validity", "--hash-given"], encode_reginfo(infos))

    def _run(self, arguments: list[str], stdin: str | None = None) -> str:
        command = [self.executable]
        if self.store is not None:
            command += ["--store", self.store]
        command += arguments
        try:
            result = subprocess.run(command, input=stdin, capture_output=True, text=True)
        except FileNotFoundError:
            raise NixCommandError(f"{self.executable} not found; is Nix installed?") from None
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or ["no error output"]
            raise NixCommandError(f"nix-store {arguments[0]} failed: {lines[-1]}")
        return result.stdout
