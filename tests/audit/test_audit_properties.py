"""Convergence: whatever the order, duplication or partition of delivery, peers agree.

Histories are generated at random by several admins writing on their own views with random
syncs, including removals, re-adds, forks, forged and foreign entries, so the properties
cover the roster rules and the attack paths, not only happy paths.
"""

import json

from audit_fixtures import Scenario, body_of, key, meta_args, pub, resign, sign_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetdocs.audit import AuditEntry, AuditLog, in_past, order_key
from fleetdocs.state import fold

PEOPLE = [key(i) for i in range(4)]

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("meta"), st.integers(0, 3)),
        st.tuples(st.just("add"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("remove"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("coordinator"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("sync"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("fork"), st.integers(0, 3)),
        st.tuples(st.just("forge"), st.integers(0, 3)),
    ),
    max_size=18,
)


def _history(
    admins: int, ops: list[tuple[int | str, ...]]
) -> tuple[Scenario, list[bytes]]:
    """Found a fleet with ``admins`` extra admins known to all, then play ``ops``.

    Returns the scenario and every byte string produced, including forks and forgeries.
    """
    scenario = Scenario()
    for index in range(1, admins + 1):
        scenario.add_admin(scenario.founder, PEOPLE[index])
    scenario.sync(*PEOPLE)
    extra: list[bytes] = []
    for op in ops:
        kind, actor = op[0], PEOPLE[int(op[1])]
        if kind == "meta":
            scenario.act(actor, "meta", meta_args(bytes([len(scenario.entries)])))
        elif kind in ("add", "remove"):
            scenario.act(actor, f"admin.{kind}", {"key": pub(PEOPLE[int(op[2])])})
        elif kind == "coordinator":
            scenario.act(actor, "coordinator.add", {"key": pub(PEOPLE[int(op[2])]), "name": "c"})
        elif kind == "sync":
            scenario.sync(actor, PEOPLE[int(op[2])])
        else:
            own = [e for e in scenario.entries if e.author == pub(actor)]
            if not own:
                continue
            last = own[-1]
            if kind == "fork":
                extra.append(resign(actor, last, time=last.time_us + 1).raw)
            else:
                extra.append(sign_body(key(9), body_of(last) | {"time": 1}))
    return scenario, [e.raw for e in scenario.entries] + extra


def _log(fleet_id: str, raws: list[bytes]) -> AuditLog:
    log = AuditLog(fleet_id)
    log.observe_all(raws)
    return log


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(admins=st.integers(0, 3), ops=_ops, data=st.data())
def test_any_order_duplication_or_partition_yields_the_same_judgement(
    admins: int, ops: list[tuple[int | str, ...]], data: st.DataObject
) -> None:
    scenario, raws = _history(admins, ops)
    reference = _log(scenario.fleet_id, raws)
    expected = reference.analysis
    expected_state = fold(reference)

    shuffled = data.draw(st.permutations(raws + data.draw(st.lists(st.sampled_from(raws)))))
    assert _log(scenario.fleet_id, shuffled).analysis == expected

    peers = data.draw(st.integers(2, 4))
    subsets = [data.draw(st.lists(st.sampled_from(raws))) for _ in range(peers)]
    logs = [_log(scenario.fleet_id, subset) for subset in subsets]
    for log in logs:
        assert set(log.analysis.verdicts) == set(log.raws())  # judged before the rest arrives
        for other in subsets:
            log.observe_all(other)
        log.observe_all(data.draw(st.permutations(raws)))
        assert log.analysis == expected
        assert fold(log) == expected_state


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(admins=st.integers(0, 3), ops=_ops, data=st.data())
def test_logs_reusing_checked_signatures_judge_like_fresh_ones(
    admins: int, ops: list[tuple[int | str, ...]], data: st.DataObject
) -> None:
    """As a daemon rebuilds its log on every change, reusing the signatures it checked."""
    scenario, raws = _history(admins, ops)
    flipped = [raw[:-2] + bytes([raw[-2] ^ 1]) + raw[-1:] for raw in raws[:2]]  # bad signatures
    verified: dict[str, AuditEntry] = {}
    for _ in range(3):
        seen = data.draw(st.lists(st.sampled_from(raws + flipped)))
        reused = AuditLog(scenario.fleet_id, verified=verified)
        reused.observe_all(seen)
        assert reused.analysis == _log(scenario.fleet_id, seen).analysis
    foreign = AuditLog("ab" * 32, verified=verified)  # another fleet, the same checked entries
    foreign.observe_all(raws)
    assert foreign.analysis == _log("ab" * 32, raws).analysis


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(admins=st.integers(0, 3), ops=_ops)
def test_invariants_of_every_history(admins: int, ops: list[tuple[int | str, ...]]) -> None:
    scenario, raws = _history(admins, ops)
    log = _log(scenario.fleet_id, raws)
    analysis = log.analysis
    assert analysis.roster.admins, "the last admin can never be removed"
    assert set(analysis.verdicts) == {e for e in log.raws()}
    valid = list(analysis.valid)
    assert valid == sorted(valid, key=order_key)
    positions = {e.hash: i for i, e in enumerate(valid)}
    for later in valid:
        for earlier in valid:
            if in_past(earlier, later):
                assert positions[earlier.hash] < positions[later.hash]
    if valid:
        assert valid[0].hash == scenario.fleet_id
    for problem in analysis.problems:
        assert json.loads(json.dumps(problem.to_json()))["kind"] == problem.kind
