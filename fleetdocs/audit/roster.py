"""Who is an admin: the roster rules ("strong removal") and the coordinator set.

The rules, precisely (docs/audit.md has worked examples):

1. ``past(E)`` is decided by vector clocks (:func:`fleetdocs.audit.entry.in_past`).
2. The roster of a causally closed set P of roster changes: key K is an admin iff P holds a
   genesis naming K, or a *standing* ``admin.add`` of K, such that every *effective* removal
   of K in P is in that add's past (a removal wins over a concurrent add).
3. An ``admin.add`` Q *stands* iff its author is in the roster of ``past(Q)`` and no
   effective removal of its author anywhere in the log is concurrent with Q.
4. A removal R is *effective* iff its author and its target are in the roster of ``past(R)``
   *as seen from inside past(R)* (rule 3 applied with only the removals in past(R)), the
   target is not the only admin there, and R is not voided (rule 6). Judging a removal by
   its own past alone breaks the circularity of concurrent removals (mutual removal and
   removal cycles all apply) and is safe: a removal never grants anything.
5. Any other entry E is valid iff its author is in the roster of ``past(E)`` (rules 2-3) and
   no effective removal of its author is concurrent with E (strong removal: whatever a
   removed admin did that its remover had not seen is void, including adds of new admins,
   and so is everything done by admins that only such an add made).
6. Last admin: if the effective removals together leave the whole log with no admin, the
   effective removal that is last in ``order_key`` is voided and everything is judged again,
   until an admin remains (with no removal at all the genesis admin remains, so this ends).
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
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


_VALID = Judgement(Verdict.valid())
"""Shared by every valid entry (most of the log): judgements are immutable."""


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
        if admins or not resolver.effective_removals:
            break
        void.add(resolver.effective_removals[-1].hash)
    judgements = {entry.hash: _judge(entry, resolver) for entry in candidates}
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
    """Memoised evaluation of the rules for one fixed set of voided removals.

    Two rosters per view: ``view_roster`` judges adds only against removals inside the view
    (what a removal's author could know; used for rule 4, which must not look outside the
    removal's past or removals become circular), ``roster_at`` judges adds against all
    effective removals (rule 3 with the whole log; used for everything else).
    """

    def __init__(self, changes: Sequence[AuditEntry], void: frozenset[str]) -> None:
        by_author: dict[str, list[AuditEntry]] = defaultdict(list)
        for change in changes:
            by_author[change.author].append(change)
        self._authors = tuple(sorted(by_author))
        self._chains = [sorted(by_author[a], key=lambda e: e.seq) for a in self._authors]
        self._seqs = [[e.seq for e in chain] for chain in self._chains]
        self._void = void
        self._view_rosters: dict[Cut, frozenset[str]] = {}
        self._rosters: dict[Cut, frozenset[str]] = {}
        self._rejections: dict[str, str | None] = {}
        self._grants: dict[str, bool] = {}
        self.full_cut: Cut = tuple(len(chain) for chain in self._chains)
        # Evaluate in causal order so memoised sub-results exist before they are needed and
        # recursion stays shallow however long the roster history is.
        in_order = sorted(changes, key=order_key)
        for change in in_order:
            if change.action == ADMIN_REMOVE:
                self.removal_rejection(change)
        self.effective_removals = [c for c in in_order if self.is_effective_removal(c)]
        self.removals_of: dict[str, list[AuditEntry]] = defaultdict(list)
        for removal in self.effective_removals:
            self.removals_of[_target(removal)].append(removal)
        for change in in_order:
            if change.action == ADMIN_ADD:
                self.grant_stands(change)

    def cut_before(self, entry: AuditEntry) -> Cut:
        """The roster changes in ``past(entry)``, excluding ``entry`` itself."""
        clock = entry.clock
        return tuple(
            bisect_right(seqs, entry.seq - 1 if author == entry.author else clock.get(author, -1))
            for author, seqs in zip(self._authors, self._seqs, strict=True)
        )

    def roster_before(self, entry: AuditEntry) -> frozenset[str]:
        """Rule 5's roster: admins in ``past(entry)``, adds judged against the whole log."""
        return self.roster_at(self.cut_before(entry))

    def roster_at(self, cut: Cut) -> frozenset[str]:
        cached = self._rosters.get(cut)
        if cached is None:
            view, removals = self._view(cut)
            cached = _members(view, removals, self.grant_stands)
            self._rosters[cut] = cached
        return cached

    def grant_stands(self, grant: AuditEntry) -> bool:
        """Rule 3 against every effective removal in the log (not only those in a view)."""
        if grant.action == FLEET_CREATE:
            return True
        cached = self._grants.get(grant.hash)
        if cached is None:
            cached = grant.author in self.roster_before(grant) and not any(
                concurrent(r, grant) for r in self.removals_of.get(grant.author, [])
            )
            self._grants[grant.hash] = cached
        return cached

    def view_roster_before(self, entry: AuditEntry) -> frozenset[str]:
        """Rule 4's roster: admins as seen from inside ``past(entry)`` alone."""
        cut = self.cut_before(entry)
        cached = self._view_rosters.get(cut)
        if cached is None:
            view, removals = self._view(cut)
            cached = _members(view, removals, lambda g: self._grant_stands_in(g, removals))
            self._view_rosters[cut] = cached
        return cached

    def _grant_stands_in(self, grant: AuditEntry, removals: Sequence[AuditEntry]) -> bool:
        if grant.action == FLEET_CREATE:
            return True
        return grant.author in self.view_roster_before(grant) and not any(
            _target(r) == grant.author and concurrent(r, grant) for r in removals
        )

    def _view(self, cut: Cut) -> tuple[list[AuditEntry], list[AuditEntry]]:
        """The roster changes of a cut, and the effective removals among them."""
        view = [e for chain, n in zip(self._chains, cut, strict=True) for e in chain[:n]]
        return view, [e for e in view if self.is_effective_removal(e)]

    def is_effective_removal(self, change: AuditEntry) -> bool:
        return change.action == ADMIN_REMOVE and self.removal_rejection(change) is None

    def removal_rejection(self, removal: AuditEntry) -> str | None:
        """Why ``removal`` does not take effect, or None if it does (rule 4)."""
        if removal.hash in self._rejections:
            return self._rejections[removal.hash]
        roster = self.view_roster_before(removal)
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


def _members(
    view: Sequence[AuditEntry],
    removals: Sequence[AuditEntry],
    stands: Callable[[AuditEntry], bool],
) -> frozenset[str]:
    """Rule 2: keys granted by a standing add that postdates every removal of the key."""
    return frozenset(
        _target(grant)
        for grant in view
        if grant.action in (FLEET_CREATE, ADMIN_ADD)
        and stands(grant)
        and all(in_past(r, grant) for r in removals if _target(r) == _target(grant))
    )


def _judge(entry: AuditEntry, resolver: _Resolver) -> Judgement:
    if entry.action == FLEET_CREATE:
        return _VALID
    if entry.action == ADMIN_REMOVE:
        reason = resolver.removal_rejection(entry)
        if reason is None:
            return _VALID
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
    for removal in resolver.removals_of.get(entry.author, []):
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
    return _VALID
