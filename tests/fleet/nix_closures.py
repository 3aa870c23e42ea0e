"""Real Nix closures for rollout tests: a configuration that activates like NixOS does.

Each version is a store path with `bin/switch-to-configuration` (which records that it
ran, like NixOS's) and a dependency path, so a closure has references to follow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NIX_CONFIG = "\n".join(["build-users-group =", "sandbox = false", "substituters =",
                        "experimental-features = nix-command"])

requires_nix = pytest.mark.skipif(shutil.which("nix-build") is None,
                                  reason="needs nix-build (apt-get install nix-bin)")

CONFIGURATION_NIX = r"""
{ version, payloadKiB }:
let
  sh = script: [ "-c" script ];
  runtime = derivation {
    name = "fleetdocs-rollout-runtime";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = sh "/bin/mkdir -p $out/lib; echo runtime > $out/lib/runtime.txt";
  };
in derivation {
  name = "fleetdocs-rollout-config-${version}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = sh ''
    /bin/mkdir -p $out/bin
    echo ${version} > $out/version
    echo ${runtime} > $out/runtime-ref
    /bin/dd if=/dev/urandom of=$out/payload bs=1024 count=${toString payloadKiB} 2>/dev/null
    printf '#!/bin/sh\necho "$FLEETDOCS_GENERATION" >> "$FLEETDOCS_TEST_ACTIVATIONS"\n' \
      > $out/bin/switch-to-configuration
    /bin/chmod +x $out/bin/switch-to-configuration
  '';
}
"""


def build_configuration(directory: Path, version: str, payload_kib: int = 64) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    expression = directory / "configuration.nix"
    expression.write_text(CONFIGURATION_NIX)
    result = subprocess.run(
        ["nix-build", str(expression), "--no-out-link", "--argstr", "version", version,
         "--arg", "payloadKiB", str(payload_kib)],
        capture_output=True, text=True, check=True, env={**os.environ, "NIX_CONFIG": NIX_CONFIG})
    return result.stdout.strip().splitlines()[-1]
