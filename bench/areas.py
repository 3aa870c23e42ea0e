"""The per-area benchmarks in scripts/ (audit, meta, artifacts), wrapped as `Result`s.

Those scripts stay runnable on their own; here they are loaded by path (scripts/ is not a
package) and their result dicts get the fields the suite records.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.results import Result

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

LIMITS = {
    "audit": "CPU: ed25519 verification plus canonical decoding, single-threaded",
    "meta": "CPU and memory of the Automerge binding",
    "artifacts": "disk writes and sha256/BLAKE3 hashing on one core; baseline is nix-store",
}
BASELINE_NAMES = {
    "audit": "raw pynacl verify",
    "meta": "automerge Document.load of the same document",
    "artifacts": "nix-store --export | nix-store --import",
}


def _load(area: str) -> ModuleType:
    path = SCRIPTS / f"bench_{area}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{area}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_area(area: str, size: int) -> list[Result]:
    """Run scripts/bench_<area>.py's `run(size)`; `size` is entries, changes or MiB."""
    rows: list[dict[str, Any]] = _load(area).run(size)
    return [_result(area, row, size) for row in rows]


def _result(area: str, row: dict[str, Any], size: int) -> Result:
    has_baseline = row.get("baseline") is not None
    return Result(area, str(row["name"]), float(row["value"]), str(row["unit"]),
                  float(row["baseline"]) if has_baseline else None,
                  BASELINE_NAMES[area] if has_baseline else None, LIMITS[area],
                  {"size": size})
