"""The change DAG as fleetdocs sees it: which changes are in, their causal pasts, and every op.

Every check here depends only on the change and its causal past, never on the order in which a
peer received changes, so all peers accept and reject the same changes. The one exception is an
admin key that signs two different changes with the same sequence number (equivocation): the
binding cannot hold both, and each peer keeps the first it saw.
"""

from dataclasses import dataclass

from fleetdocs.meta.change import MetaChange
from fleetdocs.meta.chunk import Action, OpId, ParsedChange
from fleetdocs.meta.errors import ChangeRejectedError

Clock = dict[bytes, int]
"""Per actor, the highest sequence number in a causal past."""


@dataclass(frozen=True, slots=True)
class OpRecord:
    """One accepted root-map op. ``value`` None is a delete."""

    id: OpId
    key: str
    value: str | bool | None
    seq: int
    source: MetaChange


@dataclass(frozen=True, slots=True)
class _Accepted:
    source: MetaChange
    clock: Clock
    max_op: int


@dataclass(frozen=True, slots=True)
class Admission:
    """What ``CausalIndex.admit`` found for a change that may go in."""

    clock: Clock
    max_op: int


class CausalIndex:
    def __init__(self) -> None:
        self._accepted: dict[bytes, _Accepted] = {}
        self._by_actor_seq: dict[tuple[bytes, int], bytes] = {}
        self._ops: dict[str, dict[OpId, OpRecord]] = {}
        self._visible: dict[str, set[OpId]] = {}

    def __contains__(self, change_hash: bytes) -> bool:
        return change_hash in self._accepted

    def entry_of(self, change_hash: bytes) -> MetaChange:
        return self._accepted[change_hash].source

    def missing_deps(self, change: ParsedChange) -> tuple[bytes, ...]:
        return tuple(dep for dep in change.deps if dep not in self._accepted)

    def admit(self, change: ParsedChange) -> Admission:
        """Check sequence number, op ids, and preds against the causal past; deps must be in."""
        clock: Clock = {}
        past_max_op = 0
        for dep in change.deps:
            accepted = self._accepted[dep]
            past_max_op = max(past_max_op, accepted.max_op)
            for actor, seq in accepted.clock.items():
                clock[actor] = max(clock.get(actor, 0), seq)
        expected_seq = clock.get(change.actor, 0) + 1
        if change.seq != expected_seq:
            raise ChangeRejectedError(
                f"change has seq {change.seq} where its causal past implies {expected_seq}"
            )
        taken = self._by_actor_seq.get((change.actor, change.seq))
        if taken is not None:
            raise ChangeRejectedError(
                f"admin equivocation: seq {change.seq} of this admin is already change {taken.hex()[:12]}"
            )
        if change.start_op <= past_max_op:
            raise ChangeRejectedError(
                f"change starts at op {change.start_op}, not after its causal past's {past_max_op}"
            )
        earlier_in_change: set[tuple[object, OpId]] = set()
        for op in change.ops:
            self._check_preds(op.key, op.preds, clock, earlier_in_change)
            earlier_in_change.add((op.key, op.id))
        clock[change.actor] = change.seq
        return Admission(clock, max(past_max_op, change.start_op + len(change.ops) - 1))

    def _check_preds(
        self,
        key: object,
        preds: tuple[OpId, ...],
        clock: Clock,
        earlier_in_change: set[tuple[object, OpId]],
    ) -> None:
        known = self._ops.get(key, {}) if isinstance(key, str) else {}
        for pred in preds:
            if (key, pred) in earlier_in_change:
                continue
            record = known.get(pred)
            if record is None or record.seq > clock.get(pred.actor, 0):
                raise ChangeRejectedError(
                    f"an op at {key!r} overwrites op {pred.counter}@{pred.actor.hex()[:12]}, "
                    "which is not in the change's causal past at that key"
                )

    def record(self, source: MetaChange, change: ParsedChange, admission: Admission) -> None:
        self._accepted[change.hash] = _Accepted(source, admission.clock, admission.max_op)
        self._by_actor_seq[(change.actor, change.seq)] = change.hash
        for op in change.ops:
            assert isinstance(op.key, str), "ops_check admits root-map ops only"
            value: str | bool | None = None
            if op.action == Action.SET:
                value = op.value.text if op.value.text is not None else True
            self._ops.setdefault(op.key, {})[op.id] = OpRecord(op.id, op.key, value, change.seq, source)
            visible = self._visible.setdefault(op.key, set())
            visible.difference_update(op.preds)
            if value is not None:
                visible.add(op.id)

    def visible(self, key: str) -> list[OpRecord]:
        """The ops that currently hold a value at ``key``, Automerge's winner first."""
        records = self._ops.get(key, {})
        return [records[op_id] for op_id in sorted(self._visible.get(key, ()), reverse=True)]

    def visible_keys(self) -> list[str]:
        return [key for key, ops in self._visible.items() if ops]

    def written_keys(self) -> list[str]:
        """Every key any accepted op ever wrote."""
        return list(self._ops)

    def ops_at(self, key: str) -> list[OpRecord]:
        return list(self._ops.get(key, {}).values())
