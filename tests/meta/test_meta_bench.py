"""The benchmark script runs and reports its metrics in the agreed shape (no timing asserted)."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "scripts" / "bench_meta.py"


def test_bench_reports_rebuild_memory_and_incremental_add_beside_automerge() -> None:
    spec = importlib.util.spec_from_file_location("bench_meta", SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.run(60)
    assert [r["name"] for r in results] == [
        "rebuild 60 changes",
        "rebuild 60 changes peak memory",
        "add one change incrementally",
        "saved document of 60 changes",
    ]
    for result in results:
        assert set(result) == {"name", "value", "unit", "baseline", "ratio"}
        assert result["value"] >= 0
    assert all(r["baseline"] is not None for r in results[:3])
