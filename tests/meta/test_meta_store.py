"""MetaStore's gate: pending, malformed, oversized, counter, actor, schema, duplicates, exclusion."""

import functools
import json
import random
from pathlib import Path

import pytest
from automerge.core import ROOT, Document, ScalarType, ScalarValue
from meta_sim import AGENT, ARTIFACT, OTHER_AGENT, Admin, make_entry, sync

from fleetdocs.meta import ChangeStatus, MetaChange, MetaStore, set_value, tag_add
from fleetdocs.meta.binding import BindingError, MetaDocument
from fleetdocs.meta.chunk import MAX_CHANGE_BYTES

JS_CHANGES = json.loads((Path(__file__).parent / "fixtures" / "js_changes.json").read_text())
JS_ACTOR = bytes.fromhex(JS_CHANGES["actor"])


def reason_of(store: MetaStore, entry: MetaChange) -> str:
    return next(r.reason for r in store.rejected if r.source.entry_hash == entry.entry_hash)


def set_name(store: MetaStore, key: bytes, value: str) -> bytes:
    return set_value(store, key, AGENT, "name", value)


def admin_with_history(edits: int) -> Admin:
    admin = Admin(1)
    for number in range(edits):
        admin.edit(functools.partial(set_name, value=f"v{number}"))
    return admin


def test_rebuild_equals_incremental_merge() -> None:
    admin = admin_with_history(5)
    admin.edit(lambda store, key: tag_add(store, key, AGENT, "prod"))
    rebuilt = MetaStore.rebuild(admin.entries())
    assert rebuilt.heads() == admin.store.heads()
    assert rebuilt.show() == admin.store.show() == {AGENT: {"name": "v4", "tags": ["prod"]}}


def test_change_with_missing_deps_waits_then_applies() -> None:
    first, second, third = admin_with_history(3).entries()
    store = MetaStore()
    assert store.add(third) is ChangeStatus.PENDING
    assert store.add(second) is ChangeStatus.PENDING
    assert [p.source for p in store.pending] == [third, second]
    assert "waits for 1 change(s)" in store.pending[0].reason
    assert store.value(AGENT, "name") is None
    assert store.add(first) is ChangeStatus.ACCEPTED
    assert store.pending == []
    assert store.status(third.entry_hash) is ChangeStatus.ACCEPTED
    assert store.value(AGENT, "name") == "v2"


def test_rebuild_in_any_order_reaches_the_same_document() -> None:
    entries = admin_with_history(6).entries()
    expected = MetaStore.rebuild(entries)
    for seed in range(5):
        shuffled = entries[:]
        random.Random(seed).shuffle(shuffled)
        store = MetaStore.rebuild(shuffled)
        assert store.heads() == expected.heads()
        assert store.pending == [] and store.rejected == []


def test_malformed_and_oversized_changes_are_rejected_and_nothing_else_is_lost() -> None:
    admin = admin_with_history(2)
    good = admin.entries()
    junk = make_entry(admin.key, b"not automerge")
    huge = make_entry(admin.key, b"\x85oJ\x83" + bytes(MAX_CHANGE_BYTES))
    store = MetaStore.rebuild([good[0], junk, huge, good[1]])
    assert "bad magic" in reason_of(store, junk)
    assert "byte cap" in reason_of(store, huge)
    assert store.value(AGENT, "name") == "v1"
    assert store.heads() == admin.store.heads()


def test_js_counter_change_is_rejected_before_the_binding_sees_it() -> None:
    counter = MetaChange(b"c" * 32, JS_ACTOR, 1, bytes.fromhex(JS_CHANGES["counter"]))
    store = MetaStore()
    assert store.add(counter) is ChangeStatus.REJECTED
    assert "counter" in reason_of(store, counter)
    # The binding was never poisoned: the same store keeps working.
    admin = admin_with_history(2)
    for entry in admin.entries():
        assert store.add(entry) is ChangeStatus.ACCEPTED
    assert store.value(AGENT, "name") == "v1"


def test_js_text_object_change_is_rejected_as_outside_the_flat_schema() -> None:
    text = MetaChange(b"t" * 32, JS_ACTOR, 1, bytes.fromhex(JS_CHANGES["text"]))
    store = MetaStore()
    assert store.add(text) is ChangeStatus.REJECTED
    assert "only put and delete" in reason_of(store, text)


def test_js_plain_edit_is_accepted() -> None:
    edit = MetaChange(b"e" * 32, JS_ACTOR, 1, bytes.fromhex(JS_CHANGES["edit"]))
    store = MetaStore()
    assert store.add(edit) is ChangeStatus.ACCEPTED
    agent = "agent:" + "d4" * 32
    assert store.show() == {agent: {"name": "made in js", "tags": ["js"]}}


def test_change_signed_by_another_admin_is_rejected() -> None:
    admin = admin_with_history(1)
    (entry,) = admin.entries()
    forged = MetaChange(b"f" * 32, Admin(2).key, entry.time_us, entry.change)
    store = MetaStore()
    assert store.add(forged) is ChangeStatus.REJECTED
    assert "not the admin who signed" in reason_of(store, forged)


RawWrite = tuple[str, ScalarType, ScalarValue]


def raw_change(actor: bytes, writes: list[RawWrite]) -> bytes:
    """A change written straight with the binding, bypassing fleetdocs' edit functions."""
    document = Document(actor_id=actor)
    with document.transaction() as transaction:
        for key, kind, value in writes:
            transaction.put(ROOT, key, kind, value)
    change = document.get_last_local_change()
    assert change is not None
    return change.bytes


def test_changes_outside_the_schema_are_rejected_with_the_schema_error() -> None:
    key = Admin(1).key
    cases: dict[str, list[RawWrite]] = {
        "unknown field 'colour'": [(f"{AGENT}/colour", ScalarType.Str, "red")],
        "unknown target": [("visits", ScalarType.Str, "x")],
        "must be true": [(f"{AGENT}/tags/prod", ScalarType.Str, "yes")],
        "plain string": [(f"{AGENT}/name", ScalarType.Int, 5)],
        "canonical lower case": [(f"agent:{'AB' * 32}/name", ScalarType.Str, "x")],
    }
    for expected, writes in cases.items():
        entry = make_entry(key, raw_change(key, writes))
        store = MetaStore()
        assert store.add(entry) is ChangeStatus.REJECTED
        assert expected in reason_of(store, entry)


def test_a_replayed_change_in_a_second_entry_is_a_duplicate() -> None:
    (entry,) = admin_with_history(1).entries()
    replay = MetaChange(b"r" * 32, entry.author, entry.time_us + 1, entry.change)
    store = MetaStore.rebuild([entry, replay])
    assert "duplicate of the change in entry" in reason_of(store, replay)
    assert store.add(entry) is ChangeStatus.ACCEPTED, "re-offering an entry changes nothing"


def test_equivocating_admin_second_change_with_same_seq_is_rejected() -> None:
    key = Admin(1).key
    one = make_entry(key, raw_change(key, [(f"{AGENT}/name", ScalarType.Str, "one")]))
    two = make_entry(key, raw_change(key, [(f"{AGENT}/owner", ScalarType.Str, "two")]))
    store = MetaStore.rebuild([one, two])
    assert "equivocation" in reason_of(store, two)
    assert store.show() == {AGENT: {"name": "one"}}


def test_excluding_a_removed_admins_concurrent_edits_gives_the_document_without_them() -> None:
    alice, bob, mallory = Admin(1), Admin(2), Admin(3)
    alice.edit(lambda store, key: set_value(store, key, AGENT, "name", "web-1"))
    rng = random.Random(7)
    sync(alice, bob, rng)
    sync(alice, mallory, rng)
    # Mallory edits concurrently with her removal; the audit fold invalidates these entries.
    invalid = [
        mallory.edit(lambda store, key: set_value(store, key, AGENT, "name", "pwned")),
        mallory.edit(lambda store, key: tag_add(store, key, OTHER_AGENT, "evil")),
    ]
    bob.edit(lambda store, key: tag_add(store, key, ARTIFACT, "stable"))
    sync(bob, alice, rng)
    everything = alice.entries() + invalid
    valid_only = [e for e in everything if e.entry_hash not in {i.entry_hash for i in invalid}]
    store = MetaStore.rebuild(valid_only)
    assert store.heads() == alice.store.heads()
    assert store.show() == {AGENT: {"name": "web-1"}, ARTIFACT: {"labels": ["stable"]}}
    assert store.conflicts() == []
    with_invalid = MetaStore.rebuild(everything)
    assert with_invalid.value(AGENT, "name") == "pwned", "the exclusion is what keeps them out"


def test_binding_refusal_rejects_only_that_change(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = admin_with_history(3).entries()
    store = MetaStore.rebuild(entries[:1])
    refuse = BindingError("automerge refused the changes: simulated")

    def refusing_apply(self: MetaDocument, changes: list[bytes]) -> None:
        raise refuse

    with monkeypatch.context() as patch:
        patch.setattr(MetaDocument, "apply", refusing_apply)
        assert store.add(entries[1]) is ChangeStatus.REJECTED
    assert "simulated" in reason_of(store, entries[1])
    assert store.value(AGENT, "name") == "v0"
    assert store.add(entries[2]) is ChangeStatus.PENDING, "its successor waits, nothing breaks"


def test_rebuild_falls_back_to_one_change_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = admin_with_history(3).entries()

    def refusing_load(changes: list[bytes]) -> MetaDocument:
        raise BindingError("automerge refused the changes: simulated")

    monkeypatch.setattr(MetaDocument, "load", staticmethod(refusing_load))
    store = MetaStore.rebuild(entries)
    assert store.value(AGENT, "name") == "v2"
    assert store.rejected == [] and store.pending == []


def test_a_change_waiting_for_two_deps_that_arrive_together_is_applied_once() -> None:
    """Regression (found by hypothesis): c3 waits for c1 and c2, both of which wait for c0;
    when c0 arrives, c1 and c2 are applied in one cascade and each releases c3."""
    x, y, z = Admin(0), Admin(1), Admin(2)
    c0 = x.edit(lambda store, key: set_value(store, key, AGENT, "name", "first"))
    y.receive([c0])
    c1 = x.edit(lambda store, key: set_value(store, key, AGENT, "owner", "x"))
    c2 = y.edit(lambda store, key: set_value(store, key, AGENT, "location", "y"))
    z.receive([c0, c1, c2])
    c3 = z.edit(lambda store, key: set_value(store, key, AGENT, "notes", "z"))
    fresh = MetaStore()
    for change in (c3, c1, c2, c0):
        fresh.add(change)
    assert fresh.rejected == [] and fresh.pending == []
    assert fresh.heads() == z.store.heads()
    assert fresh.value(AGENT, "notes") == "z"
