"""One benchmark figure with its same-run baseline, and the statistics that make figures.

A figure alone says little on a shared 2-core machine whose speed drifts; the ratio to
something real measured in the same run (raw iroh, nix-store, rsync, git, pynacl) is what
stays comparable between runs and machines.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


class BenchError(RuntimeError):
    """A benchmark could not produce its figure (a step failed or never converged).

    `results` are the figures it did produce before failing (and any row describing the
    failure itself); they are recorded like any others.
    """

    def __init__(self, message: str, results: Sequence[Result] = ()) -> None:
        super().__init__(message)
        self.results = list(results)


@dataclass(frozen=True)
class Result:
    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_name: str | None
    limit: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """value / baseline: for times >1 means slower than the baseline, for rates faster."""
        if self.baseline is None or self.baseline == 0:
            return None
        return round(self.value / self.baseline, 3)

    def to_json(self) -> dict[str, Any]:
        return {"bench": self.bench, "name": self.name, "value": _round(self.value),
                "unit": self.unit, "baseline": _round(self.baseline),
                "baseline_name": self.baseline_name, "ratio": self.ratio,
                "params": self.params, "limit": self.limit}


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    return float(f"{value:.4g}")


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: with few samples, p99 is the worst one, never interpolated."""
    if not samples:
        raise BenchError("no samples to take a percentile of")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def time_runs(action: Callable[[], object], runs: int) -> list[float]:
    """Seconds taken by each of `runs` calls of `action`."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def wait_for(predicate: Callable[[], bool], timeout: float, what: str,
             interval: float = 0.05) -> float:
    """Poll until `predicate` holds; returns when it first held (perf_counter seconds)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return time.perf_counter()
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
