"""Three admins edit offline, meet in random orders and partitions, and converge.

Checked on every run: equal heads and values everywhere, the same conflicts with every
concurrent value, Automerge's winner shown first, and one resolve clearing each conflict on
every peer.
"""

import contextlib
import random
from collections.abc import Callable

from hypothesis import event, given, settings
from hypothesis import strategies as st
from meta_sim import AGENT, ARTIFACT, Admin, sync

from fleetdocs.meta import (
    Conflict,
    MetaStore,
    NothingToChangeError,
    resolve,
    set_value,
    tag_add,
    tag_remove,
    unset,
)

Edit = Callable[[MetaStore, bytes], bytes]

scalar_sets: st.SearchStrategy[Edit] = st.builds(
    lambda field, value: lambda store, key: set_value(store, key, AGENT, field, value),
    st.sampled_from(["name", "owner"]),
    st.sampled_from(["red", "green", "blue"]),
)
edits: st.SearchStrategy[Edit] = st.one_of(
    scalar_sets,
    scalar_sets,
    scalar_sets,
    st.builds(
        lambda target, tag: lambda store, key: tag_add(store, key, target, tag),
        st.sampled_from([AGENT, ARTIFACT]),
        st.sampled_from(["prod", "edge", "lab"]),
    ),
    st.builds(
        lambda tag: lambda store, key: tag_remove(store, key, AGENT, tag),
        st.sampled_from(["prod", "edge"]),
    ),
    st.builds(
        lambda value: lambda store, key: set_value(store, key, ARTIFACT, "release_notes", value),
        st.sampled_from(["v1 notes", "v2 notes"]),
    ),
    st.just(lambda store, key: unset(store, key, AGENT, "owner")),
)

admin_index = st.integers(min_value=0, max_value=2)
offline_edits = st.lists(st.tuples(admin_index, edits), max_size=8)
partial_meetings = st.lists(st.tuples(admin_index, admin_index), max_size=3)
rounds = st.lists(st.tuples(offline_edits, partial_meetings), min_size=1, max_size=4)
"""Each round: admins edit offline, then some pairs meet (a partition of the fleet)."""


def try_edit(admin: Admin, edit: Edit) -> None:
    with contextlib.suppress(NothingToChangeError):
        admin.edit(edit)


def resolving(conflict: Conflict, value: str) -> Edit:
    return lambda store, key: resolve(store, key, conflict.target, conflict.field, value)


def summary(conflicts: list[Conflict]) -> list[tuple[str, str, list[tuple[str, bytes]]]]:
    return [(c.target, c.field, [(v.value, v.by.entry_hash) for v in c.values]) for c in conflicts]


def meet_everyone(admins: list[Admin], rng: random.Random) -> None:
    order = [(a, b) for a in admins for b in admins if a is not b]
    rng.shuffle(order)
    for source, destination in order + order:
        sync(source, destination, rng)


def assert_converged(admins: list[Admin]) -> None:
    reference = admins[0].store
    for admin in admins:
        assert admin.store.pending == [] and admin.store.rejected == []
        assert admin.store.heads() == reference.heads()
        assert admin.store.show() == reference.show()
        assert summary(admin.store.conflicts()) == summary(reference.conflicts())
    rebuilt = MetaStore.rebuild(admins[0].entries())
    assert rebuilt.heads() == reference.heads()
    assert summary(rebuilt.conflicts()) == summary(reference.conflicts())


@settings(max_examples=150, deadline=None)
@given(rounds, st.randoms(use_true_random=False))
def test_offline_admins_converge_and_resolve_clears_conflicts(
    plan: list[tuple[list[tuple[int, Edit]], list[tuple[int, int]]]], rng: random.Random
) -> None:
    admins = [Admin(seed) for seed in range(3)]
    for offline, meetings in plan:
        for who, edit in offline:
            try_edit(admins[who], edit)
        for source, destination in meetings:
            sync(admins[source], admins[destination], rng)
    meet_everyone(admins, rng)
    assert_converged(admins)
    event(f"conflicts before resolving: {len(admins[0].store.conflicts())}")
    for conflict in admins[0].store.conflicts():
        assert len(conflict.values) >= 2
        assert len({v.by.entry_hash for v in conflict.values}) == len(conflict.values)
        shown = admins[0].store.value(conflict.target, conflict.field)
        assert shown == conflict.winner, "the listed winner is the value Automerge shows"
        resolver = rng.choice(admins)
        choice = rng.choice(conflict.values).value
        resolver.edit(resolving(conflict, choice))
    meet_everyone(admins, rng)
    assert_converged(admins)
    assert admins[0].store.conflicts() == []


def test_three_admins_same_and_different_fields() -> None:
    alice, bob, carol = (Admin(seed) for seed in range(3))
    alice.edit(lambda s, k: set_value(s, k, AGENT, "name", "alpha"))
    bob.edit(lambda s, k: set_value(s, k, AGENT, "name", "bravo"))
    carol.edit(lambda s, k: set_value(s, k, AGENT, "name", "charlie"))
    bob.edit(lambda s, k: set_value(s, k, AGENT, "location", "rack 4"))
    alice.edit(lambda s, k: tag_add(s, k, AGENT, "prod"))
    carol.edit(lambda s, k: tag_add(s, k, AGENT, "edge"))
    rng = random.Random(1)
    admins = [alice, bob, carol]
    meet_everyone(admins, rng)
    assert_converged(admins)
    (conflict,) = alice.store.conflicts()
    assert (conflict.target, conflict.field) == (AGENT, "name")
    by_value = {v.value: v.by for v in conflict.values}
    assert set(by_value) == {"alpha", "bravo", "charlie"}
    assert by_value["bravo"].author == bob.key
    shown = alice.store.show()[AGENT]
    assert shown["location"] == "rack 4"
    assert shown["tags"] == ["edge", "prod"], "concurrent additions all survive"
    assert shown["name"] == conflict.winner
    history = alice.store.history(AGENT, "name")
    assert sorted(item.value or "" for item in history) == ["alpha", "bravo", "charlie"]

    carol.edit(lambda s, k: resolve(s, k, AGENT, "name", "bravo"))
    meet_everyone(admins, rng)
    assert_converged(admins)
    assert alice.store.conflicts() == []
    assert bob.store.value(AGENT, "name") == "bravo"
    assert [item.value for item in bob.store.history(AGENT, "name")][-1] == "bravo"
