"""Helpers for tests that use real Nix (imported by the test modules of this directory)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

NIX_CONFIG = "\n".join(
    [
        "build-users-group =",
        "sandbox = false",
        "substituters =",
        "experimental-features = nix-command",
    ]
)

requires_nix = pytest.mark.skipif(
    shutil.which("nix-store") is None, reason="needs nix-store (apt-get install nix-bin)"
)

# The builder's PATH is empty, so every tool is called by absolute path.
CLOSURE_NIX = r"""
let
  sh = script: [ "-c" script ];
  dep = derivation {
    name = "fleetdocs-test-dep";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = sh ''
      /bin/mkdir -p $out/lib $out/bin $out/share/empty-dir
      echo dependency > $out/lib/libdep.txt
      printf '#!/bin/sh\necho tool\n' > $out/bin/tool
      /bin/chmod +x $out/bin/tool
      : > $out/empty-file
    '';
  };
in derivation {
  name = "fleetdocs-test-config";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = sh ''
    /bin/mkdir -p $out/bin $out/sort
    printf '#!/bin/sh\necho switched\n' > $out/bin/switch-to-configuration
    /bin/chmod +x $out/bin/switch-to-configuration
    echo ${dep} > $out/dep-ref
    /bin/ln -s ${dep}/lib/libdep.txt $out/link-absolute
    /bin/ln -s bin/switch-to-configuration $out/link-relative
    /bin/ln -s ../${dep.name} $out/bin/link-climbing-to-store
    for name in B a a-b a.b aa Z _ 0 é; do echo "$name" > "$out/sort/$name"; done
    /bin/dd if=/dev/zero of=$out/sort/big bs=1024 count=300 2>/dev/null
  '';
}
"""


def nix_build(expression: str, directory: Path) -> str:
    """Build a nix expression with `nix-build` and return its output path."""
    source = directory / "default.nix"
    source.write_text(expression)
    result = subprocess.run(
        ["nix-build", str(source), "--no-out-link"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def nix_dump(path: str | Path, store: Path | None = None) -> bytes:
    """`nix-store --dump` of a path (in the chroot store `store` if given)."""
    command = ["nix-store", "--dump", str(path)]
    if store is not None:
        command[1:1] = ["--store", str(store)]
    return subprocess.run(command, capture_output=True, check=True).stdout
