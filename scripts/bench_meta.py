"""Benchmark the metadata store: rebuild from n changes, add one more, beside Automerge's load.

Usage: python scripts/bench_meta.py [N]  (default 10000); prints one JSON object per line:
{"name", "value", "unit", "baseline", "ratio"}, where the baseline is the automerge binding doing
the closest thing on its own (``Document.load`` of the same saved document) in the same run.

Peak memory is the growth of the process's peak resident set (Linux VmHWM, reset through
/proc/self/clear_refs before each measurement), because most of the memory is the binding's
Rust heap, which tracemalloc cannot see.
"""

import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automerge.core import ROOT, Document, ScalarType

from fleetdocs.meta import MetaChange, MetaStore

ADMINS = 3
TARGETS = 200
MERGE_EVERY = 50
FIELDS = ("name", "owner", "location", "notes")


def generate(n: int) -> list[MetaChange]:
    """n changes by three admins who merge every MERGE_EVERY edits, as audit entries."""
    keys = [hashlib.sha256(b"bench admin %d" % i).digest() for i in range(ADMINS)]
    documents = [Document(actor_id=key) for key in keys]
    for number in range(n):
        document = documents[number % ADMINS]
        target = f"agent:{number % TARGETS:064x}"
        with document.transaction() as transaction:
            if number % 5 == 4:
                transaction.put(ROOT, f"{target}/tags/t{number}", ScalarType.Boolean, True)
            else:
                field = FIELDS[number % len(FIELDS)]
                transaction.put(ROOT, f"{target}/{field}", ScalarType.Str, f"value {number}")
        if number % MERGE_EVERY == 0:
            for other in documents:
                if other is not document:
                    other.merge(document)
    for other in documents[1:]:
        documents[0].merge(other)
    return [
        MetaChange(hashlib.sha256(change.hash).digest(), change.actor_id, index, change.bytes)
        for index, change in enumerate(documents[0].get_changes([]))
    ]


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure(action: Callable[[], Any]) -> tuple[float, float, Any]:
    """Seconds taken and peak resident growth in MiB while running ``action``."""
    Path("/proc/self/clear_refs").write_text("5")
    resident_before = _status_kib("VmRSS")
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    return seconds, max(0, peak - resident_before) / 1024, result


def metric(name: str, value: float, unit: str, baseline: float | None) -> dict[str, Any]:
    ratio = value / baseline if baseline else None
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio}


def run(n: int) -> list[dict[str, Any]]:
    changes = generate(n + 1)
    history, last = changes[:n], changes[n]
    saved = MetaStore.rebuild(history).save()

    load_seconds, load_mib, _ = measure(lambda: Document.load(saved))
    rebuild_seconds, rebuild_mib, store = measure(lambda: MetaStore.rebuild(history))
    if store.pending or store.rejected:
        raise RuntimeError("benchmark changes were not all accepted")

    reload_seconds, _, _ = measure(lambda: Document.load(saved + last.change))
    add_seconds, _, _ = measure(lambda: store.add(last))
    return [
        metric(f"rebuild {n} changes", rebuild_seconds, "s", load_seconds),
        metric(f"rebuild {n} changes peak memory", rebuild_mib, "MiB", load_mib),
        metric("add one change incrementally", add_seconds, "s", reload_seconds),
        metric(f"saved document of {n} changes", len(saved) / 1024, "KiB", None),
    ]


if __name__ == "__main__":
    for result in run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000):
        print(json.dumps(result))
