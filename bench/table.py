"""The latest run in a results file as a Markdown table, for docs/benchmarks.md.

Pasting generated rows keeps the documented figures exactly those measured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def latest_run(path: Path) -> list[dict[str, Any]]:
    """The rows of each benchmark's most recent run in the JSON lines file at `path`."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    newest = {row["bench"]: 0 for row in rows}
    for row in rows:
        newest[row["bench"]] = max(newest[row["bench"]], int(row["run_id"], 16))
    return [row for row in rows if int(row["run_id"], 16) == newest[row["bench"]]]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| bench | figure | value | baseline (same run) | ratio | limited by |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        unit = row["unit"]
        baseline = ("—" if row["baseline"] is None
                    else f"{row['baseline_name']}: {row['baseline']:.4g} {unit}")
        ratio = "—" if row["ratio"] is None else f"{row['ratio']:.3g}"
        cells = [row["bench"], row["name"], f"{row['value']:.4g} {unit}", baseline, ratio,
                 row["limit"]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
