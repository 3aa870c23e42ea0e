"""Structural checks of the entry DAG: forks, references, gaps. No roster rules here.

Input is the set of signature-checked entries of one fleet. Output per entry is one of
*sound* (its whole causal past is present and consistent), *pending* (something it builds on
has not arrived yet: waiting is not an error) or *invalid* (a reference that can never be
satisfied), plus the sequence number from which each equivocating author's chain is void.

Rules (documented in docs/audit.md):

* Fork: an author signed two different entries for one seq, or signed an entry whose ``prev``
  differs from the entry the log holds at seq - 1. Both are two conflicting signatures of the
  same author, so the author's entries from that seq on are invalid; nobody else's are.
* A reference (``prev`` or a dep) must point at an entry with the stated (author, seq) whose
  vector clock the referencing entry dominates. An entry that builds on such a broken entry
  is broken too: an honest client never builds on what it could not check.
* A reference to an absent entry is *pending*, unless the slot is already known to hold a
  different entry (a conflicting dependency: invalid, reported with both signatures).
* In *sparse* mode (agents, who hold only roster entries) absent references are assumed to
  exist; completeness of the roster entries is then the caller's promise.
"""

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from fleetdocs.audit.entry import AuditEntry
from fleetdocs.audit.verdict import Problem, ProblemKind, Status, Verdict, short, signed_evidence

Slot = tuple[str, int]
_SOUND = Verdict.valid()


@dataclass(frozen=True)
class Structure:
    """Result of the structural pass."""

    status: Mapping[str, Verdict]
    """Per entry hash: valid (= structurally sound), invalid or pending."""
    fork_at: Mapping[str, int]
    """Per equivocating author: the first seq whose slot holds conflicting signatures."""
    problems: list[Problem]


def analyse_structure(
    members: Mapping[str, AuditEntry],
    ordered: Sequence[AuditEntry],
    rejected: Mapping[str, str],
    *,
    sparse: bool,
) -> Structure:
    """Judge every member's references and find forks (see module docstring).

    ``ordered`` holds the members sorted by ``order_key``: a well-formed entry comes after
    everything it references, so one pass in that order sees every target judged first.
    """
    signed = _Signatures(members)
    problems: list[Problem] = []
    fork_at = _find_forks(members, signed, problems)
    status: dict[str, Verdict] = {}
    for entry in ordered:
        status[entry.hash] = _judge_references(
            entry, members, rejected, signed, status, problems, sparse=sparse
        )
    return Structure(status=status, fork_at=fork_at, problems=problems)


class _Signatures:
    """What each author signed for each slot: the entries held in it and the ``prev`` that
    its successors name.

    A consistent slot has exactly one such hash, so that hash is kept as a plain string and
    a set is built only for slots with conflicting signatures: this runs over the whole log on
    every analysis, and one set per slot made it a large share of the time (allocation and
    garbage collection) for no information.
    """

    def __init__(self, members: Mapping[str, AuditEntry]) -> None:
        self._members = members
        self._first: dict[Slot, str] = {}
        self.conflicts: dict[Slot, set[str]] = {}
        """Slots with more than one signed hash, i.e. equivocations."""
        for entry in members.values():
            self._add((entry.author, entry.seq), entry.hash)
            if entry.prev is not None:
                self._add((entry.author, entry.seq - 1), entry.prev)

    def _add(self, slot: Slot, entry_hash: str) -> None:
        first = self._first.setdefault(slot, entry_hash)
        if first != entry_hash:
            self.conflicts.setdefault(slot, {first}).add(entry_hash)

    def at(self, slot: Slot) -> Set[str]:
        """Hashes the author signed for ``slot``: entries in it, or its successors' ``prev``."""
        conflict = self.conflicts.get(slot)
        if conflict is not None:
            return conflict
        first = self._first.get(slot)
        return frozenset() if first is None else frozenset((first,))

    def held(self, slot: Slot) -> list[str]:
        """Hashes of the entries the log holds in ``slot``, sorted."""
        return sorted(
            entry_hash
            for entry_hash in self.at(slot)
            if (entry := self._members.get(entry_hash)) is not None
            and (entry.author, entry.seq) == slot
        )


def _find_forks(
    members: Mapping[str, AuditEntry], signed: _Signatures, problems: list[Problem]
) -> dict[str, int]:
    fork_at: dict[str, int] = {}
    for author, seq in sorted(signed.conflicts):
        if author in fork_at:
            continue
        fork_at[author] = seq
        held = signed.held((author, seq))
        contradicting = [
            entry_hash
            for entry_hash in signed.held((author, seq + 1))
            if members[entry_hash].prev not in held
        ]
        problems.append(
            Problem(
                ProblemKind.EQUIVOCATION,
                f"author {short(author)} signed conflicting entries for seq {seq}; its entries "
                f"from seq {seq} on are invalid",
                {
                    "author": author,
                    "seq": seq,
                    "entries": [signed_evidence(members[h].raw) for h in held + contradicting],
                },
            )
        )
    return fork_at


def _references(entry: AuditEntry) -> tuple[tuple[str, int, str], ...]:
    """``prev`` (as a head of the author's own chain) followed by the deps."""
    if entry.prev is None:
        return entry.deps
    return ((entry.author, entry.seq - 1, entry.prev), *entry.deps)


def _dominates(entry: AuditEntry, earlier: AuditEntry) -> bool:
    """``entry``'s clock covers ``earlier``'s clock and ``earlier`` never saw ``entry``'s slot."""
    if earlier.clock.get(entry.author, -1) >= entry.seq:
        return False
    clock = entry.clock
    for author, seq in earlier.clock.items():  # noqa: SIM110  (all() of a generator: +10 % analysis time)
        if clock.get(author, -1) < seq:
            return False
    return True


def _judge_references(
    entry: AuditEntry,
    members: Mapping[str, AuditEntry],
    rejected: Mapping[str, str],
    signed: _Signatures,
    status: Mapping[str, Verdict],
    problems: list[Problem],
    *,
    sparse: bool,
) -> Verdict:
    """Sound, pending or invalid; the common all-sound path does no string work at all."""
    waiting: Verdict | None = None
    for author, seq, target_hash in _references(entry):
        target = members.get(target_hash)
        if target is None:
            verdict = _judge_absent(
                entry, (author, seq), target_hash, members, rejected, signed, problems
            )
            if verdict.status is Status.INVALID:
                return verdict
            if not sparse and waiting is None:
                waiting = verdict
            continue
        if target.author != author or target.seq != seq:
            reason = (
                f"reference {short(author)}#{seq} points at an entry that is "
                f"{short(target.author)}#{target.seq}"
            )
            return _broken(entry, reason, problems)
        if not _dominates(entry, target):
            reason = f"vector clock does not cover referenced entry {short(author)}#{seq}"
            return _broken(entry, reason, problems)
        target_status = status[target_hash]
        if target_status is _SOUND:
            continue
        if target_status.status is Status.INVALID:
            return Verdict.invalid(
                f"builds on invalid entry {short(author)}#{seq}: {target_status.reason}"
            )
        if waiting is None:
            waiting = target_status
    return waiting or _SOUND


def _judge_absent(
    entry: AuditEntry,
    slot: Slot,
    target_hash: str,
    members: Mapping[str, AuditEntry],
    rejected: Mapping[str, str],
    signed: _Signatures,
    problems: list[Problem],
) -> Verdict:
    """A referenced entry is not (validly) here: rejected, contradicted, or not yet arrived."""
    where = f"{short(slot[0])}#{slot[1]}"
    if target_hash in rejected:
        reason = f"references rejected entry {short(target_hash)} ({rejected[target_hash]})"
        return _broken(entry, reason, problems)
    known = signed.at(slot)
    if known and target_hash not in known:
        problems.append(_conflicting_dependency(entry, slot, known, members, signed))
        return Verdict.invalid(
            f"depends on {short(target_hash)} as {where}, but that author signed "
            "a different entry there"
        )
    return Verdict.pending(f"waiting for entry {where} ({short(target_hash)})")


def _broken(entry: AuditEntry, reason: str, problems: list[Problem]) -> Verdict:
    problems.append(
        Problem(
            ProblemKind.BROKEN_REFERENCE,
            f"entry {short(entry.hash)} by {short(entry.author)}: {reason}",
            {"entries": [signed_evidence(entry.raw)]},
        )
    )
    return Verdict.invalid(reason)


def _conflicting_dependency(
    entry: AuditEntry,
    slot: Slot,
    known: Set[str],
    members: Mapping[str, AuditEntry],
    signed: _Signatures,
) -> Problem:
    """Evidence: the depending entry, plus what the slot's author signed for that slot.

    The author's own statement is either the entry in the slot or, if only its successor
    arrived, the successor whose ``prev`` names the slot.
    """
    author, seq = slot
    held = sorted(h for h in known if h in members)
    successors = [h for h in signed.held((author, seq + 1)) if members[h].prev in known - set(held)]
    return Problem(
        ProblemKind.CONFLICTING_DEPENDENCY,
        f"entry {short(entry.hash)} by {short(entry.author)} names a different "
        f"{short(author)}#{seq} than the one that author signed: one of the two lied or "
        f"equivocated",
        {"entries": [signed_evidence(members[h].raw) for h in [entry.hash, *held, *successors]]},
    )
