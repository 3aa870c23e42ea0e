"""Every benchmark runs end to end at a tiny size, so none can rot; shapes only, no timings.

The real-process benchmarks need the loopback-only namespace of `scripts/dev.py test`.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.results import Result, percentile
from bench.suite import BENCHMARKS, UnknownBenchmarkError, select

pytestmark = pytest.mark.net
ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"bench", "name", "value", "unit", "baseline", "baseline_name", "ratio", "params",
          "limit"}


@pytest.fixture(autouse=True)
def _loopback_fleet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETDOCS_BIND_HOST", "127.0.0.1")
    monkeypatch.setenv("FLEETDOCS_SYNC_INTERVAL", "1")


def assert_shape(row: dict[str, object], bench: str) -> None:
    assert set(row) >= FIELDS
    assert row["bench"] == bench
    value = row["value"]
    assert isinstance(value, float) and math.isfinite(value) and value >= 0
    assert isinstance(row["limit"], str) and row["limit"]
    assert isinstance(row["params"], dict)
    if row["baseline"] is None:
        assert row["ratio"] is None and row["baseline_name"] is None
    else:
        assert isinstance(row["baseline_name"], str)


# Real-process fleets: mostly waiting on daemons, so they run side by side to keep this
# file fast; each has its own directory and only catch-up starts a node in this process.
PROCESS_BENCHMARKS = ("rollout", "catchup", "daemons")


def assert_figures(name: str, results: list[Result]) -> None:
    assert results, f"{name} produced no figures"
    for result in results:
        assert_shape(result.to_json(), name)
    assert any(result.baseline is not None for result in results), \
        f"{name} has no figure beside a baseline"


@pytest.mark.parametrize("name", [n for n in BENCHMARKS
                                  if n not in (*PROCESS_BENCHMARKS, "render")])
def test_benchmark_runs_at_tiny_size(name: str) -> None:
    assert_figures(name, BENCHMARKS[name]("tiny"))


def test_process_benchmarks_run_at_tiny_size() -> None:
    with ThreadPoolExecutor(len(PROCESS_BENCHMARKS)) as pool:
        running = {name: pool.submit(BENCHMARKS[name], "tiny") for name in PROCESS_BENCHMARKS}
        for name, future in running.items():
            assert_figures(name, future.result())


def test_script_prints_and_appends_json_lines_with_machine_info(tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    for _ in range(2):  # appends, never overwrites
        run = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench"), "render",
                              "--size", "tiny", "--output", str(output)],
                             capture_output=True, text=True, cwd=tmp_path, check=True)
        assert "beside status of an empty fleet" in run.stdout
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(rows) == 4 and len({row["run_id"] for row in rows}) == 2
    for row in rows:
        assert_shape(row, "render")
        assert {"cpus", "cpu_model", "memory_kib", "kernel"} <= set(row["machine"])
        assert {"python", "iroh", "automerge", "fleetdocs"} <= set(row["versions"])
        assert row["versions"]["iroh"] == "0.35.0" and row["size"] == "tiny"
        assert row["time"]
    table = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench"), "--table",
                            "--output", str(output)], capture_output=True, text=True, check=True)
    body = table.stdout.splitlines()[2:]
    assert len(body) == 2, "only the latest run's two render rows"
    assert all(line.startswith("| render | status of ") for line in body)


def test_script_refuses_unknown_benchmark(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench"), "nosuch",
                          "--output", str(tmp_path / "out.jsonl")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "unknown benchmark(s) nosuch" in run.stderr
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(("args", "error"), [
    (["audit", "--agents", "3"], "--agents and --keep need the rollout benchmark alone"),
    (["rollout", "audit", "--keep"], "--agents and --keep need the rollout benchmark alone"),
    (["rollout", "--agents", "3,x"], "not a comma-separated list of counts"),
    (["rollout", "--agents", "0"], "agent counts must be at least 1"),
])
def test_script_refuses_rollout_options_it_cannot_use(tmp_path: Path, args: list[str],
                                                   error: str) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench"), *args,
                          "--output", str(tmp_path / "out.jsonl")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and error in run.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_select_keeps_suite_order_and_defaults_to_all() -> None:
    assert select([]) == list(BENCHMARKS)
    assert select(["render", "propagation"]) == ["propagation", "render"]
    with pytest.raises(UnknownBenchmarkError, match="unknown benchmark"):
        select(["propagation", "bogus"])


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=200), st.floats(0.01, 1.0))
def test_percentile_is_an_observed_sample_at_or_above_its_rank(samples: list[float],
                                                              fraction: float) -> None:
    value = percentile(samples, fraction)
    assert value in samples
    assert sum(s <= value for s in samples) >= fraction * len(samples)
    assert sum(s < value for s in samples) < max(1, math.ceil(fraction * len(samples)))


@given(st.floats(0.001, 1e6), st.floats(0.001, 1e6))
def test_ratio_is_value_over_baseline(value: float, baseline: float) -> None:
    result = Result("b", "n", value, "s", baseline, "base", "cpu")
    assert result.ratio == round(value / baseline, 3)
    assert Result("b", "n", value, "s", None, None, "cpu").ratio is None
