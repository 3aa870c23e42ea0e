"""The plain-JSON shapes of metadata that the operations return and ``--json`` prints.

One module so every command shows an author, a time and an entry the same way, and so the
shapes documented for the CLI live in one place. Lists are ordered by data every peer holds
alike (entry time, then entry hash), so converged peers print identical JSON.
"""

from typing import Any

from fleetdocs.meta.change import MetaChange
from fleetdocs.meta.from_log import UnappliedEntry
from fleetdocs.meta.store import MetaStore
from fleetdocs.meta.views import Attribution, Conflict, HistoryItem

Json = dict[str, Any]


def attribution_json(by: Attribution) -> Json:
    return {"author": by.author.hex(), "time_us": by.time_us, "entry": by.entry_hash.hex()}


def conflict_json(conflict: Conflict) -> Json:
    return {
        "target": conflict.target,
        "field": conflict.field,
        "winner": conflict.winner,
        "values": [{"value": item.value, **attribution_json(item.by)} for item in conflict.values],
    }


def history_json(item: HistoryItem) -> Json:
    return {"action": item.action, "value": item.value, **attribution_json(item.by)}


def _source_json(source: MetaChange, reason: str) -> Json:
    return {"entry": source.entry_hash.hex(), "author": source.author.hex(),
            "time_us": source.time_us, "reason": reason}


def _by_time(rows: list[Json]) -> list[Json]:
    return sorted(rows, key=lambda row: (row["time_us"], row["entry"]))


def show_json(store: MetaStore, unapplied: list[UnappliedEntry], target: str | None) -> Json:
    """Values (of one target or all), conflicts, and every change that is not in the document.

    ``pending`` and ``rejected`` are the store's (a change waiting for deps, or refused by the
    gate); ``not_applied`` are entries the audit log itself did not accept. These three lists are
    fleet-wide even when ``target`` is given: a refused change cannot be attributed to a target.
    """
    return {
        "targets": store.show(target),
        "conflicts": [conflict_json(c) for c in store.conflicts()
                      if target is None or c.target == target],
        "pending": _by_time([_source_json(p.source, p.reason) for p in store.pending]),
        "rejected": _by_time([_source_json(r.source, r.reason) for r in store.rejected]),
        "not_applied": [
            {"entry": e.entry_hash, "author": e.author, "time_us": e.time_us,
             "status": e.status, "reason": e.reason}
            for e in unapplied
        ],
    }
