"""Witness checkpoints: format, signatures, who may sign, and what disagreements mean."""

import json

import pytest
from audit_fixtures import Scenario, key, meta_args, pub
from hypothesis import given
from hypothesis import strategies as st

from fleetdocs.audit import CheckpointFormatError, ProblemKind, SignatureError
from fleetdocs.audit.canonical import canonical_bytes
from fleetdocs.audit.witness import (
    Checkpoint,
    check_checkpoints,
    checkpoint_of,
    sign_checkpoint,
)

COORD, STRANGER = key(7), key(8)


def _fleet() -> Scenario:
    scenario = Scenario()
    scenario.act(scenario.founder, "coordinator.add", {"key": pub(COORD), "name": "c"})
    scenario.act(scenario.founder, "meta", meta_args())
    return scenario


def test_checkpoint_of_a_log_round_trips_and_agrees_with_it() -> None:
    scenario = _fleet()
    log = scenario.log()
    checkpoint = checkpoint_of(log, COORD, counter=3, time_us=10)
    parsed = Checkpoint.from_bytes(checkpoint.raw)
    parsed.verify_signature()
    last = scenario.entries[-1]
    assert parsed.heads == ((last.author, last.seq, last.hash),)
    assert parsed.counter == 3 and parsed.coordinator == pub(COORD)
    assert check_checkpoints(log, [checkpoint.raw]) == []


def test_checkpoint_by_a_non_coordinator_is_reported_and_ignored() -> None:
    scenario = _fleet()
    log = scenario.log()
    head = (pub(key(0)), 0, "ab" * 32)
    bogus = sign_checkpoint(STRANGER, fleet=scenario.fleet_id, counter=1, time_us=1, heads=[head])
    (problem,) = check_checkpoints(log, [bogus.raw])
    assert problem.kind is ProblemKind.NOT_A_COORDINATOR


def test_malformed_forged_and_foreign_checkpoints_are_bad() -> None:
    scenario = _fleet()
    log = scenario.log()
    good = checkpoint_of(log, COORD, counter=1, time_us=1)
    foreign = sign_checkpoint(COORD, fleet="00" * 32, counter=1, time_us=1, heads=[])
    body = {k: v for k, v in json.loads(good.raw).items() if k != "sig"}
    forged = canonical_bytes({**body, "sig": STRANGER.sign(b"x").signature.hex()})
    problems = check_checkpoints(log, [b"garbage", forged, foreign.raw])
    assert [p.kind for p in problems] == [ProblemKind.BAD_CHECKPOINT] * 3
    with pytest.raises(SignatureError):
        Checkpoint.from_bytes(forged).verify_signature()


def test_two_checkpoints_with_one_counter_are_coordinator_equivocation() -> None:
    scenario = _fleet()
    early = scenario.log(scenario.entries[:-1])
    late = scenario.log()
    first = checkpoint_of(early, COORD, counter=5, time_us=1).raw
    second = checkpoint_of(late, COORD, counter=5, time_us=2).raw
    kinds = [p.kind for p in check_checkpoints(late, [first, second])]
    assert kinds == [ProblemKind.CHECKPOINT_EQUIVOCATION]


def test_head_the_log_lacks_is_missing_attested_entry() -> None:
    scenario = _fleet()
    checkpoint = checkpoint_of(scenario.log(), COORD, counter=1, time_us=1).raw
    shorter = scenario.log(scenario.entries[:-1])
    (problem,) = check_checkpoints(shorter, [checkpoint])
    assert problem.kind is ProblemKind.MISSING_ATTESTED_ENTRY
    assert problem.evidence["signed"][0]["bytes"] == checkpoint.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [("v", 2), ("counter", -1), ("coordinator", "xy"), ("heads", [["ab", 1, "cd"]]), ("sig", 1)],
)
def test_checkpoint_fields_are_checked(field: str, value: object) -> None:
    good = checkpoint_of(_fleet().log(), COORD, counter=1, time_us=1)
    obj = json.loads(good.raw)
    obj[field] = value
    with pytest.raises(CheckpointFormatError):
        Checkpoint.from_bytes(canonical_bytes(obj))


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_checkpoint_format_error(raw: bytes) -> None:
    try:
        checkpoint = Checkpoint.from_bytes(raw)
    except CheckpointFormatError:
        return
    assert checkpoint.raw == raw
