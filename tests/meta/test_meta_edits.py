"""Edit functions and the schema: each edit is one change; bad input gets a specific error."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from meta_sim import AGENT, ARTIFACT, Admin, make_entry

from fleetdocs.meta import (
    InvalidValueError,
    MetaStore,
    NoConflictError,
    NothingToChangeError,
    UnknownFieldError,
    UnknownTargetError,
    resolve,
    set_value,
    tag_add,
    tag_remove,
    unset,
)
from fleetdocs.meta.chunk import parse_change
from fleetdocs.meta.schema import FIELDS, DocKey, FieldKind, Target, parse_key


def test_each_edit_is_one_change_by_the_admin_on_top_of_the_current_heads() -> None:
    admin = Admin(1)
    admin.edit(lambda s, k: set_value(s, k, AGENT, "name", "web-1"))
    heads = admin.store.heads()
    change = parse_change(tag_add(admin.store, admin.key, AGENT, "prod"))
    assert change.actor == admin.key
    assert list(change.deps) == heads
    assert change.seq == 2
    assert admin.store.heads() == heads, "making a change leaves the store untouched"


def test_set_unset_and_tags_round_trip() -> None:
    admin = Admin(1)
    admin.edit(lambda s, k: set_value(s, k, AGENT, "owner", "ops team"))
    admin.edit(lambda s, k: tag_add(s, k, AGENT, "prod"))
    admin.edit(lambda s, k: tag_add(s, k, AGENT, "eu", field="groups"))
    admin.edit(lambda s, k: tag_add(s, k, ARTIFACT, "stable"))
    admin.edit(lambda s, k: set_value(s, k, ARTIFACT, "release_notes", "fixes"))
    assert admin.store.show() == {
        AGENT: {"groups": ["eu"], "owner": "ops team", "tags": ["prod"]},
        ARTIFACT: {"labels": ["stable"], "release_notes": "fixes"},
    }
    admin.edit(lambda s, k: unset(s, k, AGENT, "owner"))
    admin.edit(lambda s, k: tag_remove(s, k, AGENT, "prod"))
    assert admin.store.show(AGENT) == {AGENT: {"groups": ["eu"]}}
    assert admin.store.value(AGENT, "owner") is None
    assert admin.store.value(AGENT, "tags") == []
    assert [(h.action, h.value) for h in admin.store.history(AGENT, "tags")] == [
        ("add", "prod"),
        ("remove", "prod"),
    ]
    assert [(h.action, h.value) for h in admin.store.history(AGENT, "owner")] == [
        ("set", "ops team"),
        ("unset", None),
    ]


def test_a_tag_removed_concurrently_with_its_addition_by_another_admin_survives() -> None:
    alice, bob = Admin(1), Admin(2)
    alice.edit(lambda s, k: tag_add(s, k, AGENT, "prod"))
    alice.edit(lambda s, k: tag_remove(s, k, AGENT, "prod"))
    bob.edit(lambda s, k: tag_add(s, k, AGENT, "prod"))
    bob.receive(alice.entries())
    alice.receive(bob.entries())
    assert alice.store.value(AGENT, "tags") == bob.store.value(AGENT, "tags") == ["prod"]
    assert alice.store.conflicts() == [], "set members never conflict"


def already_tagged(store: MetaStore, key: bytes) -> bytes:
    store.add(make_entry(key, tag_add(store, key, AGENT, "prod")))
    return tag_add(store, key, AGENT, "prod")


def already_named(store: MetaStore, key: bytes) -> bytes:
    store.add(make_entry(key, set_value(store, key, AGENT, "name", "web")))
    return set_value(store, key, AGENT, "name", "web")


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda s, k: set_value(s, k, "host:ab", "name", "x"), UnknownTargetError, "unknown"),
        (lambda s, k: set_value(s, k, "agent:abc", "name", "x"), UnknownTargetError, "even"),
        (lambda s, k: set_value(s, k, AGENT, "colour", "x"), UnknownFieldError, "colour"),
        (lambda s, k: set_value(s, k, ARTIFACT, "name", "x"), UnknownFieldError, "name"),
        (lambda s, k: set_value(s, k, AGENT, "tags", "x"), UnknownFieldError, "set field"),
        (lambda s, k: tag_add(s, k, AGENT, "x", field="name"), UnknownFieldError, "scalar"),
        (lambda s, k: set_value(s, k, AGENT, "name", ""), InvalidValueError, "1 to"),
        (lambda s, k: tag_add(s, k, AGENT, "has space"), InvalidValueError, "member"),
        (lambda s, k: tag_add(s, k, AGENT, "a/b"), InvalidValueError, "member"),
        (lambda s, k: unset(s, k, AGENT, "name"), NothingToChangeError, "not set"),
        (lambda s, k: tag_remove(s, k, AGENT, "prod"), NothingToChangeError, "no 'prod'"),
        (already_tagged, NothingToChangeError, "already has 'prod'"),
        (already_named, NothingToChangeError, "already 'web'"),
        (lambda s, k: resolve(s, k, AGENT, "name", "x"), NoConflictError, "no conflict"),
    ],
)
def test_bad_edits_raise_a_specific_error(edit: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        edit(MetaStore(), b"\x01" * 32)  # type: ignore[operator]


members = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:+@=-]{0,63}", fullmatch=True)
targets = st.builds(
    Target,
    st.sampled_from(sorted(FIELDS)),
    st.binary(min_size=1, max_size=64).map(bytes.hex),
)


@given(targets, st.data())
def test_parse_key_inverts_the_key_layout(target: Target, data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(sorted(FIELDS[target.kind])))
    if FIELDS[target.kind][field] is FieldKind.SET:
        member = data.draw(members)
        assert parse_key(f"{target}/{field}/{member}") == DocKey(target, field, member)
    else:
        assert parse_key(f"{target}/{field}") == DocKey(target, field, None)


@given(st.text(max_size=80))
def test_parse_key_accepts_only_schema_keys(key: str) -> None:
    try:
        parsed = parse_key(key)
    except (UnknownTargetError, UnknownFieldError, InvalidValueError):
        return
    rebuilt = f"{parsed.target}/{parsed.field}"
    assert key == (rebuilt if parsed.member is None else f"{rebuilt}/{parsed.member}")
