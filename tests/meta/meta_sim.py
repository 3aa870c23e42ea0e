"""Simulated admins for the metadata tests: each has a key, a store, and the entries it knows.

An entry here stands in for a signed audit entry: its hash covers author, time, and change, and
time is a global counter so every entry's time is distinct and increasing.
"""

import hashlib
import itertools
import random
from collections.abc import Callable

from fleetdocs.meta import MetaChange, MetaStore

AGENT = "agent:" + "a1" * 32
OTHER_AGENT = "agent:" + "b2" * 32
ARTIFACT = "artifact:" + "c3" * 32

_clock = itertools.count(1_700_000_000_000_000)


def make_entry(author: bytes, change: bytes) -> MetaChange:
    time_us = next(_clock)
    entry_hash = hashlib.sha256(author + time_us.to_bytes(8, "big") + change).digest()
    return MetaChange(entry_hash, author, time_us, change)


class Admin:
    """One admin home: edits against its own store, knows the entries it made or received."""

    def __init__(self, seed: int) -> None:
        self.key = hashlib.sha256(b"admin key %d" % seed).digest()
        self.store = MetaStore()
        self.known: dict[bytes, MetaChange] = {}

    def edit(self, make: Callable[[MetaStore, bytes], bytes]) -> MetaChange:
        entry = make_entry(self.key, make(self.store, self.key))
        self.receive([entry])
        return entry

    def receive(self, entries: list[MetaChange]) -> None:
        for entry in entries:
            if entry.entry_hash not in self.known:
                self.known[entry.entry_hash] = entry
                self.store.add(entry)

    def entries(self) -> list[MetaChange]:
        return list(self.known.values())


def sync(source: Admin, destination: Admin, rng: random.Random) -> None:
    """Deliver everything ``source`` knows to ``destination`` in a shuffled order."""
    entries = source.entries()
    rng.shuffle(entries)
    destination.receive(entries)
