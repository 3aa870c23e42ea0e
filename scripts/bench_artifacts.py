"""Benchmark artifact staging and materialization against `nix-store --export | --import`.

Builds a real closure of four paths (about `size_mib` MiB of random data in total) with
Nix, then measures in the same run:

* staging: NAR serialization + sha256 + BLAKE3 of every path into a staging directory;
* materializing: unpacking those NARs into an empty root, verifying every narHash, with one
  `sync()` before the paths are renamed into place;
* the baseline: `nix-store --export <closure> | nix-store --store <empty root> --import`,
  which serializes, transfers, unpacks, hashes and registers the same closure (nix 2.8 accepts
  a directory as a chroot store for `--import`).

Usage: `python scripts/bench_artifacts.py 500` prints one JSON result per line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fleetdocs.artifacts.closure import stage_path
from fleetdocs.artifacts.manifest import ClosureManifest
from fleetdocs.artifacts.materialize import materialize_closure

NIX_CONFIG = "build-users-group =\nsandbox = false\nsubstituters =\nexperimental-features = nix-command"
MIB = 1 << 20

CLOSURE_TEMPLATE = r"""
let
  blob = name: mib: deps: derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" ''
      /bin/mkdir -p $out/data $out/bin
      /bin/dd if=/dev/urandom of=$out/data/blob bs=1M count=${toString mib} 2>/dev/null
      for i in 1 2 3 4 5 6 7 8; do echo "small file $i" > $out/data/small-$i; done
      printf '#!/bin/sh\necho ok\n' > $out/bin/run; /bin/chmod +x $out/bin/run
      echo ${toString deps} > $out/deps
    '' ];
  };
  a = blob "bench-a-@MIB@" @PART@ [ ];
  b = blob "bench-b-@MIB@" @PART@ [ a ];
  c = blob "bench-c-@MIB@" @PART@ [ a ];
in blob "bench-root-@MIB@" @PART@ [ b c ]
"""


def build_closure(size_mib: int, workdir: Path) -> str:
    part = max(1, size_mib // 4)
    source = workdir / "closure.nix"
    source.write_text(CLOSURE_TEMPLATE.replace("@MIB@", str(size_mib)).replace("@PART@", str(part)))
    result = subprocess.run(
        ["nix-build", str(source), "--no-out-link"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def timed(action: Callable[[], object]) -> float:
    os.sync()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def export_import(paths: list[str], root: Path) -> None:
    exporter = subprocess.Popen(["nix-store", "--export", *paths], stdout=subprocess.PIPE)
    subprocess.run(
        ["nix-store", "--store", str(root), "--import"],
        stdin=exporter.stdout,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    assert exporter.stdout is not None
    exporter.stdout.close()
    if exporter.wait() != 0:
        raise RuntimeError("nix-store --export failed")


def fleetdocs(home: Path, *args: str) -> None:
    """Run a fleetdocs command as an admin would: a new process, no daemon."""
    env = {**os.environ, "FLEETDOCS_BIND_HOST": "127.0.0.1"}
    subprocess.run([sys.executable, "-m", "fleetdocs", "--home", str(home), *args], env=env,
                   check=True, capture_output=True)


def fleetdocs_admin_home(home: Path) -> Path:
    fleetdocs(home, "fleet", "create", "bench")
    return home


def result(name: str, seconds: float, size: int, baseline_seconds: float) -> dict[str, object]:
    value = size / MIB / seconds
    baseline = size / MIB / baseline_seconds
    return {
        "name": name,
        "value": round(value, 1),
        "unit": "MiB/s",
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 2),
    }


def run(size_mib: int) -> list[dict[str, object]]:
    os.environ["NIX_CONFIG"] = NIX_CONFIG
    with tempfile.TemporaryDirectory(prefix="bench-artifacts-") as scratch:
        workdir = Path(scratch)
        root_path = build_closure(size_mib, workdir)
        staged: list[ClosureManifest] = []
        blobs: dict[str, Path] = {}

        def stage() -> None:
            artifact = stage_path(Path(root_path), workdir / "staging")
            assert isinstance(artifact.manifest, ClosureManifest)
            staged.append(artifact.manifest)
            blobs.update(artifact.blobs)

        stage_seconds = timed(stage)
        manifest = staged[0]
        size = manifest.total_nar_size
        materialize_seconds = timed(
            lambda: materialize_closure(manifest, blobs.__getitem__, root=workdir / "device")
        )
        paths = [entry.path for entry in manifest.dependency_order()]
        baseline_seconds = timed(lambda: export_import(paths, workdir / "nix-import"))
        admin = fleetdocs_admin_home(workdir / "admin")
        add_seconds = timed(lambda: fleetdocs(admin, "artifact", "add", root_path, "--json"))
        return [
            result("fleetdocs artifact add (stage + iroh blobs + audit entry)", add_seconds, size,
                   baseline_seconds),
            result("artifact stage (NAR + sha256 + BLAKE3)", stage_seconds, size, baseline_seconds),
            result("materialize (unpack + narHash verify)", materialize_seconds, size, baseline_seconds),
            result(
                "stage + materialize",
                stage_seconds + materialize_seconds,
                size,
                baseline_seconds,
            ),
        ]


if __name__ == "__main__":
    for line in run(int(sys.argv[1]) if len(sys.argv) > 1 else 500):
        print(json.dumps(line))
