"""The audit log: every distinct entry ever observed, and the verdict that set implies.

Feeding is cheap and order-free: ``observe`` parses and signature-checks new bytes once and
stores them (append-only: nothing is ever dropped, invalid entries stay as evidence). The
judgement (:class:`Analysis`) is computed lazily from the whole set and cached until the next
new entry, so it depends only on the set of bytes observed, never on arrival order.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import blake3

from fleetdocs.audit.actions import FLEET_CREATE, check_args
from fleetdocs.audit.dag import analyse_structure
from fleetdocs.audit.entry import AuditEntry, order_key
from fleetdocs.audit.errors import ActionArgsError, EntryFormatError, SignatureError
from fleetdocs.audit.roster import coordinators_from, judge_roster
from fleetdocs.audit.verdict import (
    Problem,
    ProblemKind,
    Verdict,
    short,
    signed_evidence,
)


@dataclass(frozen=True)
class Roster:
    admins: frozenset[str]
    coordinators: Mapping[str, str]
    """Coordinator key -> name."""


@dataclass(frozen=True)
class Analysis:
    """Everything the log concludes from its current set of entries."""

    verdicts: Mapping[str, Verdict]
    """Per observed hash (including unparseable and forged bytes)."""
    roster: Roster
    problems: tuple[Problem, ...]
    valid: tuple[AuditEntry, ...]
    """Valid entries in ``order_key`` order: a topological order, ready for folding."""
    heads: Mapping[str, tuple[int, str]]
    """Per author: (seq, hash) of its highest structurally sound entry; what a new entry's
    deps should name (sound = whole causal past present and consistent, verdict aside)."""

    @property
    def pending(self) -> dict[str, Verdict]:
        return {h: v for h, v in self.verdicts.items() if v.status == "pending"}

    @property
    def invalid(self) -> dict[str, Verdict]:
        return {h: v for h, v in self.verdicts.items() if v.status == "invalid"}


class AuditLog:
    """All audit entries of one fleet that this peer has seen, and what they add up to.

    ``sparse=True`` is for agents, which hold only the roster entries plus their own
    assignments: references to entries that are not present are then assumed to exist
    instead of making entries pending (see :func:`fleetdocs.audit.agent.verify_in_roster`).
    """

    def __init__(self, fleet_id: str, *, sparse: bool = False,
                 verified: dict[str, AuditEntry] | None = None) -> None:
        self.fleet_id = fleet_id
        self.sparse = sparse
        # Entries whose signature an earlier log already checked, by hash (shared between
        # the logs a long-lived reader rebuilds on every change; signatures were most of it).
        self._verified = verified if verified is not None else {}
        self._raw: dict[str, bytes] = {}
        self._members: dict[str, AuditEntry] = {}
        self._rejected: dict[str, Verdict] = {}
        self._rejection_problems: list[Problem] = []
        self._analysis: Analysis | None = None

    def observe(self, raw: bytes) -> str:
        """Take in entry bytes (any order, any number of times); return their hash."""
        digest = blake3.blake3(raw).hexdigest()
        if digest in self._raw:
            return digest
        self._raw[digest] = bytes(raw)
        self._analysis = None
        entry = self._verified.get(digest)
        if entry is None:
            try:
                entry = AuditEntry.from_hashed_bytes(raw, digest)
                entry.verify_signature()
            except EntryFormatError as exc:
                self._reject(digest, ProblemKind.MALFORMED, str(exc), raw)
                return digest
            except SignatureError as exc:
                self._reject(digest, ProblemKind.BAD_SIGNATURE, str(exc), raw)
                return digest
            self._verified[digest] = entry
        foreign = self._foreign_reason(entry)
        if foreign is not None:
            self._reject(digest, ProblemKind.FOREIGN_FLEET, foreign, raw)
        else:
            self._members[digest] = entry
        return digest

    def observe_all(self, raws: Iterable[bytes]) -> None:
        for raw in raws:
            self.observe(raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, entry_hash: object) -> bool:
        return entry_hash in self._raw

    def raw(self, entry_hash: str) -> bytes:
        """The exact bytes observed under ``entry_hash`` (KeyError if never observed)."""
        return self._raw[entry_hash]

    def raws(self) -> dict[str, bytes]:
        """Every distinct byte string observed, by hash (valid or not)."""
        return dict(self._raw)

    def entry(self, entry_hash: str) -> AuditEntry | None:
        """The parsed, signature-checked entry of this fleet, or None."""
        return self._members.get(entry_hash)

    def entries(self) -> list[AuditEntry]:
        """All signature-checked entries of this fleet (any verdict) in ``order_key`` order."""
        return sorted(self._members.values(), key=order_key)

    def verdict(self, entry_hash: str) -> Verdict:
        return self.analysis.verdicts[entry_hash]

    @property
    def roster(self) -> Roster:
        return self.analysis.roster

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.analysis.problems

    def valid_entries(self) -> tuple[AuditEntry, ...]:
        return self.analysis.valid

    @property
    def analysis(self) -> Analysis:
        if self._analysis is None:
            self._analysis = self._analyse()
        return self._analysis

    def _foreign_reason(self, entry: AuditEntry) -> str | None:
        if entry.is_genesis and entry.hash != self.fleet_id:
            return (
                f"genesis of another fleet ({short(entry.hash)}) replayed into fleet "
                f"{short(self.fleet_id)}"
            )
        if not entry.is_genesis and entry.fleet != self.fleet_id:
            return (
                f"entry of fleet {short(entry.fleet or '')} replayed into fleet "
                f"{short(self.fleet_id)}"
            )
        return None

    def _reject(self, digest: str, kind: ProblemKind, reason: str, raw: bytes) -> None:
        self._rejected[digest] = Verdict.invalid(reason)
        self._rejection_problems.append(
            Problem(kind, f"entry {short(digest)}: {reason}", {"entries": [signed_evidence(raw)]})
        )

    def _analyse(self) -> Analysis:
        rejected_reasons = {h: v.reason for h, v in self._rejected.items()}
        ordered = sorted(self._members.values(), key=order_key)
        structure = analyse_structure(
            self._members, ordered, rejected_reasons, sparse=self.sparse
        )
        verdicts: dict[str, Verdict] = dict(self._rejected)
        problems = [*self._rejection_problems, *structure.problems]
        candidates: list[AuditEntry] = []
        heads: dict[str, tuple[int, str]] = {}
        for entry in ordered:
            structural = structure.status[entry.hash]
            sound = structural.is_valid
            if sound and (entry.seq, entry.hash) > heads.get(entry.author, (-1, "")):
                heads[entry.author] = (entry.seq, entry.hash)
            fork = structure.fork_at.get(entry.author)
            if not sound:
                verdicts[entry.hash] = structural
            elif fork is not None and entry.seq >= fork:
                verdicts[entry.hash] = Verdict.invalid(
                    f"author {short(entry.author)} equivocated at seq {fork}"
                )
            else:
                reason = _action_rejection(entry)
                if reason is None:
                    candidates.append(entry)
                else:
                    verdicts[entry.hash] = Verdict.invalid(reason)
                    problems.append(
                        Problem(
                            ProblemKind.BAD_ACTION,
                            f"entry {short(entry.hash)} by {short(entry.author)}: {reason}",
                            {"entries": [signed_evidence(entry.raw)]},
                        )
                    )
        outcome = judge_roster(candidates)
        valid: list[AuditEntry] = []
        for entry in candidates:
            judgement = outcome.judgements[entry.hash]
            verdicts[entry.hash] = judgement.verdict
            if judgement.problem is not None:
                problems.append(judgement.problem)
            if judgement.verdict.is_valid:
                valid.append(entry)
        roster = Roster(admins=outcome.admins, coordinators=coordinators_from(valid))
        return Analysis(
            # sorting the hashes, not (hash, verdict) pairs: cheaper, and no pair per entry
            # for the garbage collector to carry through its generations
            verdicts={entry_hash: verdicts[entry_hash] for entry_hash in sorted(verdicts)},
            roster=roster,
            problems=tuple(sorted(problems, key=Problem.sort_key)),
            valid=tuple(valid),
            heads=dict(sorted(heads.items())),
        )


def _action_rejection(entry: AuditEntry) -> str | None:
    try:
        check_args(entry.action, entry.args)
    except ActionArgsError as exc:
        return str(exc)
    if entry.action == FLEET_CREATE and entry.args["admin"] != entry.author:
        return "genesis must be signed by the admin it names"
    return None
