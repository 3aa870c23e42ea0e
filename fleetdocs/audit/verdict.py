"""What the log concludes: a verdict per entry and a list of problems with evidence.

Problems carry *evidence*, not just words: the signed bytes that prove the claim (for an
equivocation, the two entries the author signed for one sequence number), so anyone can check
the claim offline. Evidence is plain JSON so the CLI can print it and ``--json`` can emit it.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import blake3

JSON = Any
"""A JSON-serialisable value (mypy cannot express the recursive type usefully here)."""


class Status(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    PENDING = "pending"


@dataclass(frozen=True)
class Verdict:
    """The judgement of one entry given the set of entries observed so far."""

    status: Status
    reason: str = ""

    @property
    def is_valid(self) -> bool:
        return self.status is Status.VALID

    @classmethod
    def valid(cls) -> "Verdict":
        """The one valid verdict, shared: nearly every entry of a log gets it, and a fresh
        object per entry was measurable allocation and garbage-collection work."""
        return _VALID

    @classmethod
    def invalid(cls, reason: str) -> "Verdict":
        return cls(Status.INVALID, reason)

    @classmethod
    def pending(cls, reason: str) -> "Verdict":
        return cls(Status.PENDING, reason)


_VALID = Verdict(Status.VALID)


class ProblemKind(StrEnum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    FOREIGN_FLEET = "foreign-fleet"
    EQUIVOCATION = "equivocation"
    CONFLICTING_DEPENDENCY = "conflicting-dependency"
    BROKEN_REFERENCE = "broken-reference"
    BAD_ACTION = "bad-action"
    UNAUTHORIZED = "unauthorized"
    REJECTED_ROSTER_CHANGE = "rejected-roster-change"
    BAD_CHECKPOINT = "bad-checkpoint"
    NOT_A_COORDINATOR = "not-a-coordinator"
    CHECKPOINT_CONFLICT = "checkpoint-conflict"
    CHECKPOINT_EQUIVOCATION = "checkpoint-equivocation"
    MISSING_ATTESTED_ENTRY = "missing-attested-entry"
    DELETION = "deletion"


@dataclass(frozen=True)
class Problem:
    """Something wrong in the log, with the signed material that proves it."""

    kind: ProblemKind
    message: str
    evidence: Mapping[str, JSON] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSON]:
        return {"kind": str(self.kind), "message": self.message, "evidence": dict(self.evidence)}

    def sort_key(self) -> tuple[str, str, str]:
        """Total order independent of discovery order, so problem lists are reproducible."""
        return (str(self.kind), self.message, json.dumps(self.evidence, sort_keys=True))


def signed_evidence(raw: bytes) -> dict[str, str]:
    """Evidence form of signed bytes: their hash and the exact bytes (text if UTF-8, else hex)."""
    digest = blake3.blake3(raw).hexdigest()
    try:
        return {"hash": digest, "bytes": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"hash": digest, "hex": raw.hex()}


def short(hex_id: str) -> str:
    """Abbreviated id for messages; evidence always carries the full value."""
    return hex_id[:16]
