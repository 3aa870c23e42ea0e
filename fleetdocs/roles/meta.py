"""Metadata operations: read the document rebuilt from the verified log, and sign edits into it.

Every edit is made against this home's current document, which holds every valid change, this
admin's own included, so its Automerge seq and deps follow on from what the admin has seen; the
change then enters the fleet only as the ``meta`` audit entry that carries it. Edits of one home
are serialised so two concurrent CLI calls to a daemon cannot build on the same document state.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from fleetdocs.audit import AuditEntry, actions
from fleetdocs.errors import UsageError
from fleetdocs.ledger import Ledger, LedgerView
from fleetdocs.meta import MetaStore, edits
from fleetdocs.meta.cache import StoreCache
from fleetdocs.meta.from_log import meta_changes, unapplied_entries
from fleetdocs.meta.render import conflict_json, history_json, show_json
from fleetdocs.meta.targets import KnownTargets, resolve_target
from fleetdocs.ops import operation
from fleetdocs.session import Session
from fleetdocs.state import FleetState

READERS = ("admin", "coordinator")
WRITERS = ("admin",)

Edit = Callable[[MetaStore, bytes, str], bytes]
"""(store, actor, canonical target) -> the bytes of one change."""


@dataclass
class _HomeMeta:
    """What a session keeps for metadata: the cached store and the edit lock."""

    cache: StoreCache = field(default_factory=StoreCache)
    edit_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_PER_SESSION: WeakKeyDictionary[Session, _HomeMeta] = WeakKeyDictionary()


def _home_meta(session: Session) -> _HomeMeta:
    return _PER_SESSION.setdefault(session, _HomeMeta())


def meta_store(session: Session, view: LedgerView) -> MetaStore:
    """The metadata document of `view`'s log, from this session's cache (merged, not rebuilt)."""
    return _home_meta(session).cache.store_for(meta_changes(view.log))


async def _read(session: Session) -> tuple[LedgerView, MetaStore]:
    view = await Ledger(session).read()
    return view, meta_store(session, view)


def known_targets(state: FleetState, store: MetaStore) -> KnownTargets:
    """Agents and artifacts of the fleet state, plus every target the document describes."""
    described = []
    for target, fields in store.show().items():
        kind, _, ident = target.partition(":")
        name = fields.get("name")
        described.append((kind, ident, name if isinstance(name, str) else None))
    return KnownTargets.collect([
        *(("agent", ident, record.name) for ident, record in state.agents.items()),
        *(("artifact", ident, record.name) for ident, record in state.artifacts.items()),
        *described,
    ])


async def _target(session: Session, text: str) -> tuple[LedgerView, MetaStore, str]:
    view, store = await _read(session)
    return view, store, resolve_target(text, known_targets(view.state, store))


async def _edit(session: Session, target_text: str, edit: Edit, report: dict[str, Any]
                ) -> dict[str, Any]:
    """Make one change with ``edit``, sign it as a ``meta`` entry, say what became of it."""
    async with _home_meta(session).edit_lock:
        view, store, target = await _target(session, target_text)
        if session.identity.public_hex not in view.state.admins:
            raise UsageError("this home is not an admin in the log it holds (removed, or the "
                             "entry that added it has not arrived yet: try `fleetdocs sync`)")
        change = edit(store, session.identity.public, target)
        ledger = Ledger(session)
        entry = await ledger.append(actions.META, {"change": base64.b64encode(change).decode()})
        view, after = await _read(session)
    return {"entry": entry.hash, "seq": entry.seq, "time_us": entry.time_us, "target": target,
            **report, "status": _status(view, after, entry)}


def _status(view: LedgerView, store: MetaStore, entry: AuditEntry) -> str:
    """accepted/pending/rejected in the document, or the log's verdict if it never got there."""
    verdict = view.log.verdict(entry.hash)
    if not verdict.is_valid:
        return str(verdict.status)
    return store.status(bytes.fromhex(entry.hash)).value


@operation("meta.set", writes=True, roles=WRITERS)
async def meta_set(session: Session, target: str, field: str, value: str) -> dict[str, Any]:
    def make(store: MetaStore, actor: bytes, resolved: str) -> bytes:
        return edits.set_value(store, actor, resolved, field, value)

    return await _edit(session, target, make, {"op": "set", "field": field, "value": value})


@operation("meta.unset", writes=True, roles=WRITERS)
async def meta_unset(session: Session, target: str, field: str) -> dict[str, Any]:
    def make(store: MetaStore, actor: bytes, resolved: str) -> bytes:
        return edits.unset(store, actor, resolved, field)

    return await _edit(session, target, make, {"op": "unset", "field": field, "value": None})


@operation("meta.resolve", writes=True, roles=WRITERS)
async def meta_resolve(session: Session, target: str, field: str, value: str) -> dict[str, Any]:
    def make(store: MetaStore, actor: bytes, resolved: str) -> bytes:
        return edits.resolve(store, actor, resolved, field, value)

    return await _edit(session, target, make, {"op": "resolve", "field": field, "value": value})


@operation("tag.add", writes=True, roles=WRITERS)
async def tag_add(session: Session, target: str, tag: str, field: str | None = None
                  ) -> dict[str, Any]:
    set_field = _set_field(target, field)

    def make(store: MetaStore, actor: bytes, resolved: str) -> bytes:
        return edits.tag_add(store, actor, resolved, tag, set_field)

    return await _edit(session, target, make, {"op": "add", "field": set_field, "value": tag})


@operation("tag.remove", writes=True, roles=WRITERS)
async def tag_remove(session: Session, target: str, tag: str, field: str | None = None
                     ) -> dict[str, Any]:
    set_field = _set_field(target, field)

    def make(store: MetaStore, actor: bytes, resolved: str) -> bytes:
        return edits.tag_remove(store, actor, resolved, tag, set_field)

    return await _edit(session, target, make, {"op": "remove", "field": set_field, "value": tag})


def _set_field(target: str, field: str | None) -> str | None:
    """The set field a tag command writes: as given, else the kind's default (tags, labels).

    None only for a target of no known kind, which target resolution then refuses.
    """
    return field or edits.DEFAULT_SET_FIELD.get(target.partition(":")[0])


@operation("meta.get", roles=READERS)
async def meta_get(session: Session, target: str, field: str) -> dict[str, Any]:
    _, store, resolved = await _target(session, target)
    value = store.value(resolved, field)
    conflict = next((c for c in store.conflicts() if (c.target, c.field) == (resolved, field)),
                    None)
    return {"target": resolved, "field": field, "value": value,
            "conflict": conflict_json(conflict) if conflict is not None else None}


@operation("meta.show", roles=READERS)
async def meta_show(session: Session, target: str | None = None) -> dict[str, Any]:
    view, store = await _read(session)
    resolved = resolve_target(target, known_targets(view.state, store)) if target else None
    return show_json(store, unapplied_entries(view.log), resolved)


@operation("meta.history", roles=READERS)
async def meta_history(session: Session, target: str, field: str) -> dict[str, Any]:
    _, store, resolved = await _target(session, target)
    return {"target": resolved, "field": field,
            "history": [history_json(item) for item in store.history(resolved, field)]}


@operation("meta.conflicts", roles=READERS)
async def meta_conflicts(session: Session) -> list[dict[str, Any]]:
    _, store = await _read(session)
    return [conflict_json(conflict) for conflict in store.conflicts()]
