"""The log's structural judgement: gaps, references, forks, idempotence, appending."""

import pytest
from audit_fixtures import Scenario, body_of, hash_hex, key, meta_args, pub, resign, sign_body

from fleetdocs.audit import AuditLog, ChainError, ProblemKind, Status, next_entry


def _chain(scenario: Scenario, n: int) -> list:
    return [scenario.act(scenario.founder, "meta", meta_args(bytes([i]))) for i in range(n)]


def test_everything_valid_in_an_honest_log() -> None:
    scenario = Scenario()
    scenario.add_admin(scenario.founder, key(1))
    scenario.act(key(1), "meta", meta_args())
    _chain(scenario, 3)
    log = scenario.log()
    assert all(v.status is Status.VALID for v in log.analysis.verdicts.values())
    assert log.problems == ()
    assert log.valid_entries()[0].hash == scenario.fleet_id
    assert log.roster.admins == {pub(key(0)), pub(key(1))}


def test_gap_is_pending_not_an_error_and_resolves_when_filled() -> None:
    scenario = Scenario()
    first, second, third = _chain(scenario, 3)
    log = scenario.log([scenario.genesis, first, third])
    assert log.verdict(first.hash).status is Status.VALID
    assert log.verdict(third.hash).status is Status.PENDING
    assert "waiting" in log.verdict(third.hash).reason
    assert log.problems == ()
    log.observe(second.raw)
    assert log.verdict(third.hash).status is Status.VALID


def test_pending_propagates_through_deps_of_other_authors() -> None:
    scenario = Scenario()
    scenario.add_admin(scenario.founder, key(1))
    founder_entry = scenario.act(scenario.founder, "meta", meta_args())
    scenario.sync(scenario.founder, key(1))
    dependent = scenario.act(key(1), "meta", meta_args())
    assert (pub(key(0)), founder_entry.seq, founder_entry.hash) in dependent.deps
    log = scenario.log([e for e in scenario.entries if e != founder_entry])
    assert log.verdict(dependent.hash).status is Status.PENDING


def test_observing_again_changes_nothing_and_order_does_not_matter() -> None:
    scenario = Scenario()
    _chain(scenario, 4)
    forward = scenario.log()
    backward = scenario.log(reversed(scenario.entries))
    for entry in scenario.entries:
        assert backward.observe(entry.raw) == entry.hash
    assert len(backward) == len(scenario.entries)
    assert forward.analysis == backward.analysis


def test_malformed_and_forged_bytes_are_kept_as_invalid_with_reason() -> None:
    scenario = Scenario()
    (entry,) = _chain(scenario, 1)
    log = scenario.log()
    junk_hash = log.observe(b"not json")
    forged = sign_body(key(9), body_of(entry) | {"seq": 5, "prev": hash_hex(1)})
    forged_hash = log.observe(forged)
    assert log.verdict(junk_hash).status is Status.INVALID
    assert log.raw(junk_hash) == b"not json"
    assert "signature" in log.verdict(forged_hash).reason
    kinds = {p.kind for p in log.problems}
    assert kinds == {ProblemKind.MALFORMED, ProblemKind.BAD_SIGNATURE}
    assert log.verdict(entry.hash).is_valid


def test_second_entry_at_same_seq_is_equivocation_with_both_as_evidence() -> None:
    scenario = Scenario()
    first, second = _chain(scenario, 2)
    sibling = resign(scenario.founder, second, args=meta_args(b"other"))
    log = scenario.log([*scenario.entries, sibling])
    (problem,) = log.problems
    assert problem.kind is ProblemKind.EQUIVOCATION
    evidence = {item["hash"] for item in problem.evidence["entries"]}
    assert evidence == {second.hash, sibling.hash}
    assert log.verdict(first.hash).is_valid
    assert "equivocated" in log.verdict(second.hash).reason
    assert "equivocated" in log.verdict(sibling.hash).reason


def test_successor_naming_another_prev_proves_a_fork() -> None:
    scenario = Scenario()
    first, second = _chain(scenario, 2)
    rewritten_successor = resign(scenario.founder, second, prev=hash_hex(42))
    log = scenario.log([scenario.genesis, first, rewritten_successor])
    (problem,) = log.problems
    assert problem.kind is ProblemKind.EQUIVOCATION
    assert problem.evidence["seq"] == first.seq
    assert {item["hash"] for item in problem.evidence["entries"]} == {
        first.hash,
        rewritten_successor.hash,
    }
    assert log.verdict(first.hash).status is Status.INVALID
    assert log.verdict(scenario.fleet_id).is_valid


def test_dependency_on_a_slot_holding_another_entry_is_invalid_not_pending() -> None:
    scenario = Scenario()
    scenario.add_admin(scenario.founder, key(1))
    founder_entry = scenario.act(scenario.founder, "meta", meta_args())
    liar_dep = [(pub(key(0)), founder_entry.seq, hash_hex(77))]
    base = scenario.act(key(1), "meta", meta_args())
    liar = resign(key(1), base, seq=base.seq + 1, prev=base.hash, deps=liar_dep)
    log = scenario.log([*scenario.entries, liar])
    assert log.verdict(liar.hash).status is Status.INVALID
    assert {p.kind for p in log.problems} == {ProblemKind.CONFLICTING_DEPENDENCY}
    assert log.verdict(founder_entry.hash).is_valid


def test_reference_to_wrong_slot_or_uncovered_clock_is_broken() -> None:
    scenario = Scenario()
    scenario.add_admin(scenario.founder, key(1))
    founder_entry = scenario.act(scenario.founder, "meta", meta_args())
    base = scenario.act(key(1), "meta", meta_args())
    on_base = {"seq": base.seq + 1, "prev": base.hash}
    wrong_slot = resign(
        key(1), base, **on_base, deps=[(pub(key(0)), founder_entry.seq, scenario.fleet_id)]
    )
    stale_clock = resign(key(1), base, **on_base, deps=[(pub(key(0)), 0, scenario.fleet_id)])
    for broken, reason in ((wrong_slot, "points at"), (stale_clock, "does not cover")):
        log = scenario.log([*scenario.entries, broken])
        assert reason in log.verdict(broken.hash).reason
        assert {p.kind for p in log.problems} == {ProblemKind.BROKEN_REFERENCE}
        assert log.verdict(base.hash).is_valid
    builder = AuditLog(scenario.fleet_id)
    builder.observe_all(e.raw for e in [*scenario.entries, wrong_slot])
    on_top = next_entry(builder, key(1), "meta", meta_args(), time_us=9)
    log = scenario.log([*scenario.entries, wrong_slot, on_top])
    assert "builds on invalid" in log.verdict(on_top.hash).reason


def test_entry_of_unknown_action_stays_invalid_with_reason() -> None:
    scenario = Scenario()
    (entry,) = _chain(scenario, 1)
    odd = resign(scenario.founder, entry, seq=entry.seq + 1, prev=entry.hash, action="meta")
    weird = sign_body(
        scenario.founder, body_of(odd) | {"action": "launch.missiles", "args": {}}
    )
    log = scenario.log()
    digest = log.observe(weird)
    assert "unknown action" in log.verdict(digest).reason
    assert {p.kind for p in log.problems} == {ProblemKind.BAD_ACTION}


def test_next_entry_refuses_to_fork_own_chain() -> None:
    scenario = Scenario()
    first, _ = _chain(scenario, 2)
    log = scenario.log([scenario.genesis, first])
    log.observe(_chain(scenario, 1)[0].raw)  # seq 3 without seq 2: a gap in own chain
    with pytest.raises(ChainError, match="gap or a fork"):
        next_entry(log, scenario.founder, "meta", meta_args(), time_us=1)


def test_heads_name_the_highest_sound_entry_of_each_author() -> None:
    scenario = Scenario()
    scenario.add_admin(scenario.founder, key(1))
    last = _chain(scenario, 2)[-1]
    other = scenario.act(key(1), "meta", meta_args())
    heads = scenario.log().analysis.heads
    assert heads == {pub(key(0)): (last.seq, last.hash), pub(key(1)): (other.seq, other.hash)}
