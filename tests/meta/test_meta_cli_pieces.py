"""The pure pieces behind the metadata commands: target resolution, the log-to-store bridge,
the per-session store cache, and the JSON shapes. No nodes, no processes."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from meta_sim import Admin, sync
from nacl.signing import SigningKey

from fleetdocs.audit import AuditEntry, AuditLog, actions, create_fleet, next_entry
from fleetdocs.meta import MetaChange, MetaStore, set_value, tag_add
from fleetdocs.meta.cache import StoreCache
from fleetdocs.meta.errors import AmbiguousTargetError, UnknownTargetError
from fleetdocs.meta.from_log import meta_changes, unapplied_entries
from fleetdocs.meta.render import show_json
from fleetdocs.meta.targets import KnownTargets, resolve_target

WEB = "a1" * 32

ids = st.text("0123456789abcdef", min_size=64, max_size=64)
names = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8)


# --- target resolution -----------------------------------------------------------------------

@given(st.dictionaries(ids, st.none() | names, min_size=1, max_size=6), st.data())
def test_a_prefix_or_name_resolves_exactly_when_it_matches_one_agent(
        agents: dict[str, str | None], data: st.DataObject) -> None:
    known = KnownTargets.collect(("agent", ident, name) for ident, name in agents.items())
    ident = data.draw(st.sampled_from(sorted(agents)))
    typed = data.draw(st.sampled_from([ident[:n] for n in range(1, 64)] +
                                      ([agents[ident]] if agents[ident] else [])))
    matching = {other for other, name in agents.items()
                if other.startswith(typed) or name == typed}
    if len(matching) == 1:
        assert resolve_target(f"agent:{typed}", known) == f"agent:{ident}"
    else:
        with pytest.raises(AmbiguousTargetError, match=f"matches {len(matching)} agents"):
            resolve_target(f"agent:{typed}", known)


@given(ids)
def test_a_full_id_is_taken_even_when_unknown_and_is_lower_cased(ident: str) -> None:
    assert resolve_target(f"artifact:{ident.upper()}", KnownTargets()) == f"artifact:{ident}"


@pytest.mark.parametrize("text", ["web", "host:web", "agent:", "agent:nosuch", "artifact:a1"])
def test_unknown_targets_are_refused_with_one_line(text: str) -> None:
    known = KnownTargets.collect([("agent", WEB, "web")])
    with pytest.raises(UnknownTargetError) as refused:
        resolve_target(text, known)
    assert "\n" not in str(refused.value)


def test_a_name_never_resolves_across_kinds() -> None:
    known = KnownTargets.collect([("artifact", WEB, "web")])
    assert resolve_target("artifact:web", known) == f"artifact:{WEB}"
    with pytest.raises(UnknownTargetError):
        resolve_target("agent:web", known)


# --- from the audit log to the store -----------------------------------------------------------

def _key(index: int) -> SigningKey:
    return SigningKey(bytes([index]) * 32)


def _public(key: SigningKey) -> bytes:
    return bytes(key.verify_key)


def _meta(log: AuditLog, key: SigningKey, change: bytes, time_us: int) -> AuditEntry:
    args = {"change": base64.b64encode(change).decode()}
    entry = next_entry(log, key, actions.META, args, time_us=time_us)
    log.observe(entry.raw)
    return entry


def test_only_valid_meta_entries_reach_the_store_and_the_rest_are_listed() -> None:
    """B edits while A concurrently removes B: B's change is listed, never applied."""
    a, b = _key(1), _key(2)
    genesis = create_fleet(a, "lab", time_us=1)
    view_a = AuditLog(genesis.hash)
    view_a.observe(genesis.raw)
    added = next_entry(view_a, a, actions.ADMIN_ADD, {"key": _public(b).hex()}, time_us=2)
    view_a.observe(added.raw)
    view_b = AuditLog(genesis.hash)
    view_b.observe_all([genesis.raw, added.raw])
    by_b = _meta(view_b, b, set_value(MetaStore(), _public(b), f"agent:{WEB}", "owner", "b"), 3)
    removal = next_entry(view_a, a, actions.ADMIN_REMOVE, {"key": _public(b).hex()}, time_us=4)
    view_a.observe(removal.raw)
    by_a = _meta(view_a, a, set_value(MetaStore(), _public(a), f"agent:{WEB}", "owner", "a"), 5)

    merged = AuditLog(genesis.hash)
    merged.observe_all(view_a.raws().values())
    merged.observe_all(view_b.raws().values())

    [applied] = meta_changes(merged)
    assert applied == MetaChange(bytes.fromhex(by_a.hash), _public(a), 5,
                                 base64.b64decode(by_a.args["change"]))
    [left_out] = unapplied_entries(merged)
    assert (left_out.entry_hash, left_out.author, left_out.status) == (
        by_b.hash, _public(b).hex(), "invalid")
    assert left_out.reason == merged.verdict(by_b.hash).reason != ""
    store = MetaStore.rebuild([applied])
    shown = show_json(store, [left_out], None)
    assert shown["targets"] == {f"agent:{WEB}": {"owner": "a"}}
    assert [row["entry"] for row in shown["not_applied"]] == [by_b.hash]


# --- the store cache ---------------------------------------------------------------------------

def _history(seed: int) -> list[MetaChange]:
    """Entries of three admins editing one agent, partly offline (real conflicts and deps)."""
    rng = random.Random(seed)
    admins = [Admin(index) for index in range(3)]
    for step in range(12):
        admin = rng.choice(admins)
        value = f"v{step}"
        edit = rng.choice([
            lambda store, actor, v=value: set_value(store, actor, f"agent:{WEB}", "name", v),
            lambda store, actor, v=value: tag_add(store, actor, f"agent:{WEB}", v),
        ])
        admin.edit(edit)
        if rng.random() < 0.4:
            sync(admin, rng.choice(admins), rng)
    for admin in admins:
        for other in admins:
            sync(admin, other, rng)
    return sorted(admins[0].entries(), key=lambda change: (change.time_us, change.entry_hash))


def _fingerprint(store: MetaStore) -> tuple[object, ...]:
    return (store.heads(), store.show(), store.conflicts(),
            sorted((p.source.entry_hash, p.reason) for p in store.pending),
            sorted((r.source.entry_hash, r.reason) for r in store.rejected))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32), st.lists(st.integers(0, 12), min_size=1, max_size=5))
def test_the_cache_always_equals_a_fresh_rebuild(seed: int, cuts: list[int]) -> None:
    """Growing, shrinking (an entry invalidated later) or unchanged: same as rebuilding."""
    changes = _history(seed)
    rng = random.Random(seed)
    cache = StoreCache()
    for cut in cuts:
        subset = [change for change in changes[:cut] if rng.random() < 0.9]
        assert _fingerprint(cache.store_for(subset)) == _fingerprint(MetaStore.rebuild(subset))


def test_the_cache_reuses_its_store_while_entries_only_grow() -> None:
    changes = _history(7)
    cache = StoreCache()
    first = cache.store_for(changes[:4])
    assert cache.store_for(changes) is first
    assert cache.store_for(changes[1:]) is not first  # an entry left: rebuilt


def test_a_rejected_change_makes_the_cache_rebuild_in_log_order() -> None:
    """A duplicate is rejected whichever entry comes later in the log, not in arrival order."""
    change = _history(3)[0]
    copy = MetaChange(hashlib.sha256(change.entry_hash).digest(), change.author,
                      change.time_us + 1, change.change)
    cache = StoreCache()
    cache.store_for([copy])
    store = cache.store_for([change, copy])
    assert [r.source.entry_hash for r in store.rejected] == [copy.entry_hash]
