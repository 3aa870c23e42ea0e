"""Keep one home's MetaStore between reads, so a daemon serving many reads does not rebuild.

The cache is keyed by the set of applied entry hashes. When the new set only adds entries, they
are merged incrementally; anything else (an entry the log has since invalidated, or a new change
the store rejects, whose fate can depend on arrival order) falls back to a rebuild in the log's
fold order, so the result is always what a fresh process reading the same log would compute.
"""

from collections.abc import Sequence

from fleetdocs.meta.change import MetaChange
from fleetdocs.meta.store import ChangeStatus, MetaStore


class StoreCache:
    def __init__(self) -> None:
        self._store: MetaStore | None = None
        self._applied: frozenset[bytes] = frozenset()

    def store_for(self, changes: Sequence[MetaChange]) -> MetaStore:
        """The store holding exactly ``changes`` (the log's valid meta changes, in fold order)."""
        wanted = frozenset(change.entry_hash for change in changes)
        if (self._store is not None and self._applied <= wanted
                and self._merge([c for c in changes if c.entry_hash not in self._applied])):
            self._applied = wanted
            return self._store
        self._store = MetaStore.rebuild(changes)
        self._applied = wanted
        return self._store

    def _merge(self, new: Sequence[MetaChange]) -> bool:
        """Add ``new`` to the cached store; False if a rebuild must decide instead."""
        assert self._store is not None
        return all(self._store.add(change) is not ChangeStatus.REJECTED for change in new)
