"""The benchmarks `scripts/bench` knows, with their sizes for a full, quick and tiny run.

Sizes are chosen so that a full run stays under 15 minutes and a quick one under 2 on a
2-core machine; "tiny" only proves each benchmark still runs end to end (smoke test).
Rollout goes up to 25 agents (27 daemons, ~4 GiB resident), run at the default 15 s sync
interval, because setting up the fleet one agent at a time takes ~4 of the 15 minutes of a
full run at N = 25. Larger fleets complete too (150 here; 250 did not fit in memory,
docs/benchmarks.md "How many fit"); `scripts/bench rollout --agents N` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from bench import catchup, daemons, propagation, render, rollout, transfer
from bench.areas import run_area
from bench.results import Result

Size = Literal["full", "quick", "tiny"]
SIZES: tuple[Size, ...] = ("full", "quick", "tiny")


def _sized(run: Callable[..., list[Result]], full: object, quick: object,
           tiny: object) -> Callable[[Size], list[Result]]:
    """A benchmark whose one argument depends on the size of the run."""
    argument = {"full": full, "quick": quick, "tiny": tiny}
    return lambda size: run(argument[size])


def _area(area: str, full: int, quick: int, tiny: int) -> Callable[[Size], list[Result]]:
    sizes = {"full": full, "quick": quick, "tiny": tiny}
    return lambda size: run_area(area, sizes[size])


ROLLOUT_AGENTS: dict[Size, tuple[int, ...]] = {"full": (3, 25), "quick": (2,), "tiny": (1,)}

BENCHMARKS: dict[str, Callable[[Size], list[Result]]] = {
    "propagation": _sized(propagation.run, 50, 10, 2),
    "rollout": lambda size: rollout.run(ROLLOUT_AGENTS[size],
                                        idle_window=1.0 if size == "tiny" else rollout.IDLE_WINDOW),
    "catchup": _sized(catchup.run, 1000, 20, 3),
    "transfer": _sized(transfer.run, 256, 16, 1),
    "audit": _area("audit", 100_000, 2_000, 50),
    "meta": _area("meta", 10_000, 1_000, 20),
    "artifacts": _area("artifacts", 512, 16, 4),
    "daemons": _sized(daemons.run, 10, 3, 1),
    "render": _sized(render.run, 50, 50, 3),
}


def run(name: str, size: Size, agents: tuple[int, ...] | None = None,
        keep: bool = False) -> list[Result]:
    """Run benchmark `name`; `agents` replaces the rollout's agent counts for this size, and
    `keep` keeps the homes and logs of every rollout (to read why one was slow)."""
    if agents is None and not keep:
        return BENCHMARKS[name](size)
    if name != "rollout":
        raise UnknownBenchmarkError(f"--agents and --keep apply to rollout only, not {name}")
    return rollout.run(agents or ROLLOUT_AGENTS[size], keep=keep)


class UnknownBenchmarkError(ValueError):
    """A benchmark name on the command line that the suite does not have."""


def select(names: list[str]) -> list[str]:
    """The benchmarks to run, in suite order; all when none are named."""
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise UnknownBenchmarkError(f"unknown benchmark(s) {', '.join(unknown)}; "
                                    f"known: {', '.join(BENCHMARKS)}")
    return [name for name in BENCHMARKS if not names or name in names]
