"""Witness checkpoints: coordinators' signed statements of the audit heads they hold.

A coordinator keeps every entry it ever saw (outside iroh-docs) and periodically signs "for
each author: seq and hash of the head I hold". Because iroh-docs lets an author replace or
delete its own entries, a rewrite or deletion is otherwise invisible to a peer that only sees
the namespace now; with checkpoints it becomes two conflicting signed statements (the
checkpoint and the rewritten entry), or a signed statement about an entry that is gone.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import blake3
from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

from fleetdocs.audit.canonical import is_hex, is_int, parse_canonical
from fleetdocs.audit.entry import AuditEntry, Dep, parse_heads, storage_key
from fleetdocs.audit.errors import CheckpointFormatError, SignatureError
from fleetdocs.audit.log import AuditLog
from fleetdocs.audit.verdict import Problem, ProblemKind, short, signed_evidence
from fleetdocs.canonical import canonical_bytes

CHECKPOINT_VERSION: Final = 1
WITNESS_DOMAIN: Final = b"fleetdocs/witness/v1\x00"
MAX_CHECKPOINT_BYTES: Final = 256 * 1024
_FIELDS: Final = frozenset({"v", "fleet", "coordinator", "counter", "time", "heads", "sig"})


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A parsed checkpoint. Build with :func:`sign_checkpoint` or :meth:`from_bytes`."""

    fleet: str
    coordinator: str
    counter: int
    time_us: int
    heads: tuple[Dep, ...]
    sig: str
    raw: bytes = field(repr=False)
    hash: str

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Checkpoint":
        """Parse canonical checkpoint bytes; raise CheckpointFormatError on anything else."""
        obj = parse_canonical(
            raw, max_size=MAX_CHECKPOINT_BYTES, what="checkpoint", error=CheckpointFormatError
        )
        if obj.keys() != _FIELDS or obj["v"] != CHECKPOINT_VERSION or not is_int(obj["v"]):
            raise CheckpointFormatError("checkpoint has unknown version or wrong fields")
        for name in ("fleet", "coordinator"):
            if not is_hex(obj[name], 32):
                raise CheckpointFormatError(f"checkpoint {name} must be 64 lowercase hex chars")
        for name in ("counter", "time"):
            if not is_int(obj[name]) or obj[name] < 0:
                raise CheckpointFormatError(f"checkpoint {name} must be a non-negative integer")
        if not is_hex(obj["sig"], 64):
            raise CheckpointFormatError("checkpoint sig must be 128 lowercase hex chars")
        return cls(
            fleet=obj["fleet"],
            coordinator=obj["coordinator"],
            counter=obj["counter"],
            time_us=obj["time"],
            heads=parse_heads(obj["heads"], what="checkpoint heads", error=CheckpointFormatError),
            sig=obj["sig"],
            raw=raw,
            hash=blake3.blake3(raw).hexdigest(),
        )

    def verify_signature(self) -> None:
        """Raise SignatureError unless the coordinator signed this checkpoint."""
        message = WITNESS_DOMAIN + canonical_bytes(_body(self))
        try:
            VerifyKey(bytes.fromhex(self.coordinator)).verify(message, bytes.fromhex(self.sig))
        except (CryptoError, ValueError):
            raise SignatureError(
                f"signature of checkpoint {short(self.hash)} does not verify for "
                f"coordinator {short(self.coordinator)}"
            ) from None


def sign_checkpoint(
    signing_key: SigningKey, *, fleet: str, counter: int, time_us: int, heads: Sequence[Dep]
) -> Checkpoint:
    """Sign a checkpoint; ``counter`` must grow with every checkpoint of this coordinator."""
    body = {
        "v": CHECKPOINT_VERSION,
        "fleet": fleet,
        "coordinator": signing_key.verify_key.encode().hex(),
        "counter": counter,
        "time": time_us,
        "heads": sorted([list(head) for head in heads]),
    }
    signature = signing_key.sign(WITNESS_DOMAIN + canonical_bytes(body)).signature
    return Checkpoint.from_bytes(canonical_bytes({**body, "sig": signature.hex()}))


def checkpoint_of(
    log: AuditLog, signing_key: SigningKey, *, counter: int, time_us: int
) -> Checkpoint:
    """The checkpoint a coordinator publishes for what its log holds now."""
    heads = [(author, seq, h) for author, (seq, h) in log.analysis.heads.items()]
    return sign_checkpoint(
        signing_key, fleet=log.fleet_id, counter=counter, time_us=time_us, heads=heads
    )


def check_checkpoints(log: AuditLog, checkpoints: Iterable[bytes]) -> list[Problem]:
    """Compare checkpoints with the log; every disagreement is a problem with evidence.

    Checkpoints that do not parse, do not verify, name another fleet, or come from a key that
    is not a coordinator in the log's current roster are reported and otherwise ignored.
    """
    problems: list[Problem] = []
    accepted: list[Checkpoint] = []
    for raw in checkpoints:
        checkpoint = _admit(log, raw, problems)
        if checkpoint is not None:
            accepted.append(checkpoint)
    problems.extend(_counter_equivocations(accepted))
    problems.extend(_head_disagreements(log, accepted))
    return sorted(problems, key=Problem.sort_key)


def deletion_problem(log: AuditLog, author: str, prefix: bytes) -> Problem:
    """Record that ``author`` deleted ``prefix`` in the control namespace (told by iroh).

    The evidence is every entry of that author under the prefix which this log still holds:
    signed proof that the deleted history existed.
    """
    lost = [
        entry
        for entry in log.entries()
        if entry.author == author and storage_key(entry.author, entry.seq).startswith(prefix)
    ]
    return Problem(
        ProblemKind.DELETION,
        f"author {short(author)} deleted key prefix {prefix!r} in the control namespace, "
        f"covering {len(lost)} entries this log holds",
        {
            "author": author,
            "prefix_hex": prefix.hex(),
            "entries": [signed_evidence(entry.raw) for entry in lost],
        },
    )


def _admit(log: AuditLog, raw: bytes, problems: list[Problem]) -> Checkpoint | None:
    try:
        checkpoint = Checkpoint.from_bytes(raw)
        checkpoint.verify_signature()
    except (CheckpointFormatError, SignatureError) as exc:
        problems.append(_problem(ProblemKind.BAD_CHECKPOINT, str(exc), [raw]))
        return None
    if checkpoint.fleet != log.fleet_id:
        problems.append(
            _problem(
                ProblemKind.BAD_CHECKPOINT,
                f"checkpoint {short(checkpoint.hash)} is for fleet {short(checkpoint.fleet)}",
                [raw],
            )
        )
        return None
    if checkpoint.coordinator not in log.roster.coordinators:
        problems.append(
            _problem(
                ProblemKind.NOT_A_COORDINATOR,
                f"checkpoint {short(checkpoint.hash)} signed by {short(checkpoint.coordinator)},"
                " which is not a coordinator; ignored",
                [raw],
            )
        )
        return None
    return checkpoint


def _counter_equivocations(accepted: Sequence[Checkpoint]) -> list[Problem]:
    by_counter: dict[tuple[str, int], list[Checkpoint]] = defaultdict(list)
    for checkpoint in accepted:
        by_counter[checkpoint.coordinator, checkpoint.counter].append(checkpoint)
    return [
        _problem(
            ProblemKind.CHECKPOINT_EQUIVOCATION,
            f"coordinator {short(coordinator)} signed {len(group)} different checkpoints "
            f"with counter {counter}",
            [c.raw for c in sorted(group, key=lambda c: c.hash)],
        )
        for (coordinator, counter), group in sorted(by_counter.items())
        if len(group) > 1
    ]


def _head_disagreements(log: AuditLog, accepted: Sequence[Checkpoint]) -> list[Problem]:
    attesting: dict[Dep, list[Checkpoint]] = defaultdict(list)
    for checkpoint in accepted:
        for head in checkpoint.heads:
            attesting[head].append(checkpoint)
    slots: dict[tuple[str, int], list[AuditEntry]] = defaultdict(list)
    for entry in log.entries():
        slots[entry.author, entry.seq].append(entry)
    problems = []
    for (author, seq, head_hash), group in sorted(attesting.items()):
        statements = [c.raw for c in sorted(group, key=lambda c: c.hash)]
        held = log.entry(head_hash)
        where = f"{short(author)}#{seq}"
        if held is not None and (held.author, held.seq) == (author, seq):
            continue
        conflicting = [held] if held is not None else slots.get((author, seq), [])
        if conflicting:
            problems.append(
                _problem(
                    ProblemKind.CHECKPOINT_CONFLICT,
                    f"checkpoints attest {where} = {short(head_hash)}, but the log holds a "
                    "different signed entry there: rewrite or equivocation",
                    statements + [entry.raw for entry in conflicting],
                )
            )
        else:
            problems.append(
                _problem(
                    ProblemKind.MISSING_ATTESTED_ENTRY,
                    f"checkpoints attest {where} = {short(head_hash)}, which this log does not "
                    "hold: deleted (or not received yet)",
                    statements,
                )
            )
    return problems


def _problem(kind: ProblemKind, message: str, signed: Sequence[bytes]) -> Problem:
    return Problem(kind, message, {"signed": [signed_evidence(raw) for raw in signed]})


def _body(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "v": CHECKPOINT_VERSION,
        "fleet": checkpoint.fleet,
        "coordinator": checkpoint.coordinator,
        "counter": checkpoint.counter,
        "time": checkpoint.time_us,
        "heads": [list(head) for head in checkpoint.heads],
    }
