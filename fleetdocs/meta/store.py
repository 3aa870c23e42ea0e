"""MetaStore: the fleet metadata document, rebuilt and then merged from the verified audit log.

Every change goes through the same gate: parse (size cap, format), actor must be the entry's
author, no counters, schema, then the causal checks of CausalIndex. Only then does the binding
see it. A change whose deps are missing waits in ``pending`` and is retried when they arrive; a
refused change goes to ``rejected`` with its reason. Neither affects any other change.
"""

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from fleetdocs.meta.binding import BindingError, MetaDocument, Write
from fleetdocs.meta.causal import CausalIndex
from fleetdocs.meta.change import MetaChange
from fleetdocs.meta.chunk import ParsedChange, parse_change
from fleetdocs.meta.errors import ChangeRejectedError, MalformedChangeError
from fleetdocs.meta.ops_check import check_schema, reject_counters
from fleetdocs.meta.schema import FieldKind, Target, field_kind, parse_key, parse_target
from fleetdocs.meta.views import Conflict, HistoryItem, conflicts, history

FieldValue = str | list[str]
"""A scalar field's value, or a set field's members in sorted order."""


class ChangeStatus(Enum):
    ACCEPTED = "accepted"
    PENDING = "pending"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class PendingChange:
    source: MetaChange
    missing: tuple[bytes, ...]

    @property
    def reason(self) -> str:
        listed = ", ".join(dep.hex()[:12] for dep in self.missing)
        return f"waits for {len(self.missing)} change(s) not yet received: {listed}"


@dataclass(frozen=True, slots=True)
class RejectedChange:
    source: MetaChange
    reason: str


@dataclass(frozen=True, slots=True)
class _Held:
    source: MetaChange
    parsed: ParsedChange


class MetaStore:
    def __init__(self) -> None:
        self._document = MetaDocument()
        self._index = CausalIndex()
        self._seen: set[bytes] = set()
        self._pending: dict[bytes, PendingChange] = {}
        self._held: dict[bytes, _Held] = {}
        self._waiting_for: dict[bytes, set[bytes]] = {}
        self._rejected: dict[bytes, RejectedChange] = {}

    @classmethod
    def rebuild(cls, changes: Iterable[MetaChange]) -> "MetaStore":
        """Build the document from the audit log's meta changes, in the log's order.

        All checked changes reach the binding in one ``load``; should the binding refuse that
        batch (a gap in fleetdocs' checks), fall back to one change at a time so that only the
        refused change is lost.
        """
        sources = list(changes)
        store = cls()
        batch: list[bytes] = []
        for source in sources:
            store._offer(source, batch)
        try:
            store._document = MetaDocument.load(batch)
        except BindingError:
            store = cls()
            for source in sources:
                store.add(source)
        return store

    def add(self, change: MetaChange) -> ChangeStatus:
        """Merge one more change (and any pending changes it unblocks); say what became of it."""
        self._offer(change, None)
        return self.status(change.entry_hash)

    def status(self, entry_hash: bytes) -> ChangeStatus:
        if entry_hash not in self._seen:
            raise KeyError(entry_hash)
        if entry_hash in self._rejected:
            return ChangeStatus.REJECTED
        if entry_hash in self._pending:
            return ChangeStatus.PENDING
        return ChangeStatus.ACCEPTED

    @property
    def pending(self) -> list[PendingChange]:
        return list(self._pending.values())

    @property
    def rejected(self) -> list[RejectedChange]:
        return list(self._rejected.values())

    def _offer(self, source: MetaChange, batch: list[bytes] | None) -> None:
        """Gate one change; with a batch, defer the binding and collect checked bytes there."""
        if source.entry_hash in self._seen:
            return
        self._seen.add(source.entry_hash)
        try:
            parsed = _precheck(source)
        except (MalformedChangeError, ChangeRejectedError) as error:
            self._reject(source, str(error))
            return
        ready = deque([_Held(source, parsed)])
        while ready:
            held = ready.popleft()
            self._pending.pop(held.source.entry_hash, None)
            self._held.pop(held.source.entry_hash, None)
            if held.parsed.hash in self._index:
                first = self._index.entry_of(held.parsed.hash).entry_hash.hex()[:12]
                self._reject(held.source, f"duplicate of the change in entry {first}")
                continue
            missing = self._index.missing_deps(held.parsed)
            if missing:
                self._hold(held, missing)
                continue
            try:
                admission = self._index.admit(held.parsed)
                if batch is None:
                    self._document.apply([held.source.change])
                else:
                    batch.append(held.source.change)
            except (ChangeRejectedError, BindingError) as error:
                self._reject(held.source, str(error))
                continue
            self._index.record(held.source, held.parsed, admission)
            ready.extend(self._release(held.parsed.hash))

    def _hold(self, held: _Held, missing: tuple[bytes, ...]) -> None:
        entry = held.source.entry_hash
        self._pending[entry] = PendingChange(held.source, missing)
        self._held[entry] = held
        for dep in missing:
            self._waiting_for.setdefault(dep, set()).add(entry)

    def _release(self, change_hash: bytes) -> list[_Held]:
        """Held changes that waited for `change_hash`, taken out of the held set: a change
        waiting for two deps that both arrive in one cascade must be queued only once."""
        entries = sorted(self._waiting_for.pop(change_hash, ()))
        return [self._held.pop(entry) for entry in entries if entry in self._held]

    def _reject(self, source: MetaChange, reason: str) -> None:
        self._rejected[source.entry_hash] = RejectedChange(source, reason)

    def heads(self) -> list[bytes]:
        return self._document.heads()

    def save(self) -> bytes:
        return self._document.save()

    def value(self, target: str, field: str) -> FieldValue | None:
        """The value every peer shows: Automerge's winner, or the members of a set field."""
        parsed_target = parse_target(target)
        if field_kind(parsed_target, field) is FieldKind.SET:
            return self.show(target).get(str(parsed_target), {}).get(field, [])
        found = self._document.get(f"{parsed_target}/{field}")
        return found if isinstance(found, str) else None

    def show(self, target: str | None = None) -> dict[str, dict[str, FieldValue]]:
        """Every set field of every target (or of one), as plain data for display and JSON."""
        wanted = parse_target(target) if target is not None else None
        shown: dict[str, dict[str, FieldValue]] = {}
        for key in sorted(self._document.keys()):
            doc_key = parse_key(key)
            if wanted is not None and doc_key.target != wanted:
                continue
            fields = shown.setdefault(str(doc_key.target), {})
            if doc_key.member is None:
                value = self._document.get(key)
                if isinstance(value, str):
                    fields[doc_key.field] = value
            else:
                members = fields.setdefault(doc_key.field, [])
                assert isinstance(members, list), "a set field never holds a string"
                members.append(doc_key.member)
        return shown

    def conflicts(self) -> list[Conflict]:
        return conflicts(self._index)

    def history(self, target: str, field: str) -> list[HistoryItem]:
        return history(self._index, parse_target(target), field)

    def is_conflicted(self, target: Target, field: str) -> bool:
        return len(self._index.visible(f"{target}/{field}")) > 1

    def make_change(self, actor: bytes, writes: Sequence[Write]) -> bytes | None:
        """Change bytes by ``actor`` against the current document; see fleetdocs.meta.edits."""
        return self._document.change(actor, writes)


def _precheck(source: MetaChange) -> ParsedChange:
    """The checks that need only the change and its entry, counters before anything else."""
    parsed = parse_change(source.change)
    reject_counters(parsed)
    if parsed.actor != source.author:
        raise ChangeRejectedError("change's actor is not the admin who signed the entry")
    check_schema(parsed)
    return parsed
