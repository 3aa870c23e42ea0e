"""Who is an admin: the roster rules ("strong removal") and the coordinator set.

The rules, precisely (docs/audit.md has worked examples):

1. ``past(E)`` is decided by vector clocks (:func:`fleetdocs.audit.entry.in_past`).
2. ``roster(P)`` of a causally closed set P of roster changes: key K is an admin iff P holds a
   genesis or *valid-in-P* ``admin.add`` of K such that every *effective* removal of K in P is
   in that add's past (a removal wins over a concurrent add).
3. An ``admin.add`` Q is valid in P iff its author is in ``roster(past(Q))`` and P holds no
   effective removal of its author concurrent with Q.
4. A removal R is *effective* iff its author and its target are in ``roster(past(R))``, the
   target is not the only admin there, and R is not voided (rule 6). A removal is judged by
   its own past only: this breaks the circularity of concurrent removals (mutual removal and
   removal cycles all apply) and is safe, since a removal never grants anything.
5. Any other entry E is valid iff its author is in ``roster(past(E))`` and no effective
   removal of its author is concurrent with E (strong removal: whatever a removed admin did
   that its remover had not seen is void, including adds of new admins).
6. Last admin: if the effective removals together leave the whole log with no admin, the
   effective removal that is last in ``order_key`` is voided and everything is judged again,
   until an admin remains (with no removal at all the genesis admin remains, so this ends).
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from fleetdocs.audit.actions import (
    ADMIN_ADD,
    ADMIN_CHANGES,
    ADMIN_REMOVE,
    COORDINATOR_ADD,
    COORDINATOR_REMOVE,
    FLEET_CREATE,
)
from fleetdocs.audit.entry import AuditEntry, concurrent, in_past, order_key
from fleetdocs.audit.verdict import Problem, ProblemKind, Verdict, short, signed_evidence

Cut = tuple[int, ...]
"""How many roster changes of each change author (in a fixed author order) a view holds."""


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    problem: Problem | None = None


@dataclass(frozen=True)
class RosterOutcome:
    admins: frozenset[str]
    judgements: Mapping[str, Judgement]
    """Per candidate entry hash."""


def judge_roster(candidates: Sequence[AuditEntry]) -> RosterOutcome:
    """Apply the roster rules to entries that are already structurally sound and fork-free."""
    changes = [entry for entry in candidates if entry.action in ADMIN_CHANGES]
    void: set[str] = set()
    while True:
        resolver = _Resolver(changes, frozenset(void))
        admins = resolver.roster_at(resolver.full_cut)
        effective = [r for r in changes if resolver.is_effective_removal(r)]
        if admins or not effective:
            break
        void.add(max(effective, key=order_key).hash)
    removals_of: dict[str, list[AuditEntry]] = defaultdict(list)
    for removal in effective:
        removals_of[_target(removal)].append(removal)
    judgements = {
        entry.hash: _judge(entry, resolver, removals_of.get(entry.author, []))
        for entry in candidates
    }
    return RosterOutcome(admins=admins, judgements=judgements)


def coordinators_from(valid_entries: Iterable[AuditEntry]) -> dict[str, str]:
    """Coordinator key -> name, from valid entries; a removal wins over a concurrent add."""
    adds: dict[str, list[AuditEntry]] = defaultdict(list)
    removes: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in valid_entries:
        if entry.action == COORDINATOR_ADD:
            adds[entry.args["key"]].append(entry)
        elif entry.action == COORDINATOR_REMOVE:
            removes[entry.args["key"]].append(entry)
    coordinators: dict[str, str] = {}
    for key, key_adds in adds.items():
        standing = [
            add for add in key_adds if all(in_past(rm, add) for rm in removes.get(key, []))
        ]
        if standing:
            coordinators[key] = max(standing, key=order_key).args["name"]
    return dict(sorted(coordinators.items()))


def _target(change: AuditEntry) -> str:
    """The key a roster change is about (genesis names its admin, add/remove their key)."""
    return str(change.args["admin"] if change.action == FLEET_CREATE else change.args["key"])


class _Resolver:
    """Memoised evaluation of the rules for one fixed set of voided removals."""

    def __init__(self, changes: Sequence[AuditEntry], void: frozenset[str]) -> None:
        by_author: dict[str, list[AuditEntry]] = defaultdict(list)
        for change in changes:
            by_author[change.author].append(change)
        self._authors = tuple(sorted(by_author))
        self._chains = [sorted(by_author[a], key=lambda e: e.seq) for a in self._authors]
        self._seqs = [[e.seq for e in chain] for chain in self._chains]
        self._void = void
        self._rosters: dict[Cut, frozenset[str]] = {}
        self._rejections: dict[str, str | None] = {}
        self.full_cut: Cut = tuple(len(chain) for chain in self._chains)
        # Evaluate in causal order so memoised sub-results exist before they are needed and
        # recursion stays shallow however long the roster history is.
        for change in sorted(changes, key=order_key):
            self.roster_before(change)
            if change.action == ADMIN_REMOVE:
                self.removal_rejection(change)

    def cut_before(self, entry: AuditEntry) -> Cut:
        """The roster changes in ``past(entry)``, excluding ``entry`` itself."""
        limits = (
            entry.seq - 1 if author == entry.author else entry.clock.get(author, -1)
            for author in self._authors
        )
        return tuple(
            bisect_right(seqs, limit) for seqs, limit in zip(self._seqs, limits, strict=True)
        )

    def roster_before(self, entry: AuditEntry) -> frozenset[str]:
        return self.roster_at(self.cut_before(entry))

    def roster_at(self, cut: Cut) -> frozenset[str]:
        cached = self._rosters.get(cut)
        if cached is not None:
            return cached
        view = [e for chain, n in zip(self._chains, cut, strict=True) for e in chain[:n]]
        removals = [e for e in view if self.is_effective_removal(e)]
        members = {
            _target(grant)
            for grant in view
            if grant.action in (FLEET_CREATE, ADMIN_ADD)
            and self._add_stands(grant, removals)
            and all(in_past(r, grant) for r in removals if _target(r) == _target(grant))
        }
        roster = frozenset(members)
        self._rosters[cut] = roster
        return roster

    def _add_stands(self, grant: AuditEntry, removals: Sequence[AuditEntry]) -> bool:
        if grant.action == FLEET_CREATE:
            return True
        return grant.author in self.roster_before(grant) and not any(
            _target(r) == grant.author and concurrent(r, grant) for r in removals
        )

    def is_effective_removal(self, change: AuditEntry) -> bool:
        return change.action == ADMIN_REMOVE and self.removal_rejection(change) is None

    def removal_rejection(self, removal: AuditEntry) -> str | None:
        """Why ``removal`` does not take effect, or None if it does (rule 4)."""
        if removal.hash in self._rejections:
            return self._rejections[removal.hash]
        roster = self.roster_before(removal)
        target = _target(removal)
        reason: str | None = None
        if removal.author not in roster:
            reason = f"author {short(removal.author)} is not an admin in the removal's past"
        elif target not in roster:
            reason = f"{short(target)} is not an admin in the removal's past"
        elif roster == {target}:
            reason = f"removing {short(target)} would leave the fleet without admins"
        elif removal.hash in self._void:
            reason = (
                f"voided: with concurrent removals, removing {short(target)} would leave "
                "the fleet without admins (the last removal in order_key yields)"
            )
        self._rejections[removal.hash] = reason
        return reason


def _judge(entry: AuditEntry, resolver: _Resolver, removals: Sequence[AuditEntry]) -> Judgement:
    if entry.action == FLEET_CREATE:
        return Judgement(Verdict.valid())
    if entry.action == ADMIN_REMOVE:
        reason = resolver.removal_rejection(entry)
        if reason is None:
            return Judgement(Verdict.valid())
        return Judgement(
            Verdict.invalid(reason),
            Problem(
                ProblemKind.REJECTED_ROSTER_CHANGE,
                f"removal {short(entry.hash)} by {short(entry.author)} rejected: {reason}",
                {"entries": [signed_evidence(entry.raw)]},
            ),
        )
    if entry.author not in resolver.roster_before(entry):
        reason = f"author {short(entry.author)} is not an admin in the entry's causal past"
        return Judgement(
            Verdict.invalid(reason),
            Problem(
                ProblemKind.UNAUTHORIZED,
                f"entry {short(entry.hash)} ({entry.action}): {reason}",
                {"entries": [signed_evidence(entry.raw)]},
            ),
        )
    for removal in removals:
        if concurrent(removal, entry):
            reason = (
                f"author {short(entry.author)} was removed by {short(removal.hash)}, "
                "which had not seen this entry (strong removal)"
            )
            return Judgement(
                Verdict.invalid(reason),
                Problem(
                    ProblemKind.UNAUTHORIZED,
                    f"entry {short(entry.hash)} ({entry.action}): {reason}",
                    {"entries": [signed_evidence(entry.raw), signed_evidence(removal.raw)]},
                ),
            )
    return Judgement(Verdict.valid())
