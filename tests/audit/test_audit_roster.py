"""Roster semantics: adds, removals, strong removal, mutual removal, last admin, re-add."""

from audit_fixtures import Scenario, key, meta_args, pub

from fleetdocs.audit import ProblemKind, Status, order_key

A, B, C, D = key(0), key(1), key(2), key(3)


def _fleet_of(*admins: object) -> Scenario:
    """Founder A adds the other admins; every view then holds everything."""
    scenario = Scenario()
    for admin in admins:
        scenario.add_admin(A, admin)  # type: ignore[arg-type]
    scenario.sync(A, B, C, D)
    return scenario


def test_add_chain_each_new_admin_can_act_and_add() -> None:
    scenario = Scenario()
    scenario.add_admin(A, B)
    scenario.add_admin(B, C)
    by_c = scenario.act(C, "meta", meta_args())
    log = scenario.log()
    assert log.roster.admins == {pub(A), pub(B), pub(C)}
    assert log.verdict(by_c.hash).is_valid


def test_removed_admin_entries_after_removal_are_invalid_before_stay_valid() -> None:
    scenario = _fleet_of(B)
    before = scenario.act(B, "meta", meta_args(b"before"))
    scenario.sync(A, B)
    scenario.act(A, "admin.remove", {"key": pub(B)})
    scenario.sync(A, B)
    after = scenario.act(B, "meta", meta_args(b"after"))
    log = scenario.log()
    assert log.roster.admins == {pub(A)}
    assert log.verdict(before.hash).is_valid
    assert "not an admin" in log.verdict(after.hash).reason


def test_strong_removal_voids_concurrent_actions_of_the_removed_admin() -> None:
    scenario = _fleet_of(B)
    removal = scenario.act(A, "admin.remove", {"key": pub(B)})
    concurrent = scenario.act(B, "meta", meta_args(b"unseen by A"))
    log = scenario.log()
    verdict = log.verdict(concurrent.hash)
    assert verdict.status is Status.INVALID
    assert "strong removal" in verdict.reason and removal.hash[:16] in verdict.reason
    (problem,) = log.problems
    assert problem.kind is ProblemKind.UNAUTHORIZED
    assert {e["hash"] for e in problem.evidence["entries"]} == {concurrent.hash, removal.hash}


def test_admin_added_by_concurrently_removed_admin_never_becomes_admin() -> None:
    scenario = _fleet_of(B)
    scenario.act(A, "admin.remove", {"key": pub(B)})
    sneaky_add = scenario.act(B, "admin.add", {"key": pub(C)})
    scenario.sync(B, C)
    by_c = scenario.act(C, "meta", meta_args())
    log = scenario.log()
    assert log.roster.admins == {pub(A)}
    assert "strong removal" in log.verdict(sneaky_add.hash).reason
    assert "not an admin" in log.verdict(by_c.hash).reason


def test_mutual_removal_applies_both() -> None:
    scenario = _fleet_of(B, C)
    a_removes_b = scenario.act(A, "admin.remove", {"key": pub(B)})
    b_removes_a = scenario.act(B, "admin.remove", {"key": pub(A)})
    a_later = scenario.act(A, "meta", meta_args())
    log = scenario.log()
    assert log.verdict(a_removes_b.hash).is_valid and log.verdict(b_removes_a.hash).is_valid
    assert log.roster.admins == {pub(C)}
    assert "strong removal" in log.verdict(a_later.hash).reason


def test_removal_cycle_removes_everyone_in_it() -> None:
    scenario = _fleet_of(B, C, D)
    removals = [
        scenario.act(A, "admin.remove", {"key": pub(B)}),
        scenario.act(B, "admin.remove", {"key": pub(C)}),
        scenario.act(C, "admin.remove", {"key": pub(A)}),
    ]
    log = scenario.log()
    assert all(log.verdict(r.hash).is_valid for r in removals)
    assert log.roster.admins == {pub(D)}


def test_removal_by_a_concurrently_removed_admin_still_applies() -> None:
    scenario = _fleet_of(B, C)
    scenario.act(A, "admin.remove", {"key": pub(B)})
    b_removes_c = scenario.act(B, "admin.remove", {"key": pub(C)})
    log = scenario.log()
    assert log.verdict(b_removes_c.hash).is_valid
    assert log.roster.admins == {pub(A)}


def test_last_admin_cannot_be_removed() -> None:
    scenario = Scenario()
    self_removal = scenario.act(A, "admin.remove", {"key": pub(A)})
    log = scenario.log()
    assert "without admins" in log.verdict(self_removal.hash).reason
    assert log.roster.admins == {pub(A)}
    assert {p.kind for p in log.problems} == {ProblemKind.REJECTED_ROSTER_CHANGE}


def test_stepping_down_is_allowed_while_another_admin_remains() -> None:
    scenario = _fleet_of(B)
    step_down = scenario.act(A, "admin.remove", {"key": pub(A)})
    log = scenario.log()
    assert log.verdict(step_down.hash).is_valid
    assert log.roster.admins == {pub(B)}


def test_concurrent_removals_that_would_empty_the_roster_void_the_last_in_order() -> None:
    scenario = _fleet_of(B)
    removals = [
        scenario.act(A, "admin.remove", {"key": pub(B)}),
        scenario.act(B, "admin.remove", {"key": pub(A)}),
    ]
    first, last = sorted(removals, key=order_key)
    log = scenario.log()
    assert log.verdict(first.hash).is_valid
    assert "voided" in log.verdict(last.hash).reason
    assert log.roster.admins == {first.author}


def test_concurrent_removal_cycle_that_would_empty_the_roster_keeps_one_admin() -> None:
    scenario = _fleet_of(B, C)
    removals = [
        scenario.act(A, "admin.remove", {"key": pub(B)}),
        scenario.act(B, "admin.remove", {"key": pub(C)}),
        scenario.act(C, "admin.remove", {"key": pub(A)}),
    ]
    log = scenario.log()
    voided = [r for r in removals if "voided" in log.verdict(r.hash).reason]
    assert voided == [max(removals, key=order_key)]
    assert len(log.roster.admins) == 1


def test_removal_then_readd_restores_admin_but_not_its_concurrent_actions() -> None:
    scenario = _fleet_of(B)
    scenario.act(A, "admin.remove", {"key": pub(B)})
    concurrent = scenario.act(B, "meta", meta_args(b"during"))
    scenario.add_admin(A, B)
    after_readd = scenario.act(B, "meta", meta_args(b"after"))
    log = scenario.log()
    assert log.roster.admins == {pub(A), pub(B)}
    assert log.verdict(after_readd.hash).is_valid
    assert log.verdict(concurrent.hash).status is Status.INVALID


def test_removal_wins_over_concurrent_readd() -> None:
    scenario = _fleet_of(B, C)
    scenario.act(A, "admin.remove", {"key": pub(C)})
    readd = scenario.act(B, "admin.add", {"key": pub(C)})
    log = scenario.log()
    assert log.verdict(readd.hash).is_valid
    assert log.roster.admins == {pub(A), pub(B)}


def test_removing_a_non_admin_and_acting_as_outsider_are_invalid() -> None:
    scenario = Scenario()
    bogus_removal = scenario.act(A, "admin.remove", {"key": pub(D)})
    outsider = scenario.act(D, "meta", meta_args())
    log = scenario.log()
    assert "not an admin" in log.verdict(bogus_removal.hash).reason
    assert "not an admin" in log.verdict(outsider.hash).reason
    assert log.roster.admins == {pub(A)}


def test_coordinator_roster_follows_valid_entries_and_removal_wins() -> None:
    scenario = _fleet_of(B)
    scenario.act(A, "coordinator.add", {"key": pub(C), "name": "c"})
    scenario.act(A, "coordinator.add", {"key": pub(D), "name": "d"})
    scenario.sync(A, B)
    scenario.act(A, "coordinator.remove", {"key": pub(D)})
    scenario.act(B, "coordinator.add", {"key": pub(D), "name": "d-again"})
    log = scenario.log()
    assert log.roster.coordinators == {pub(C): "c"}


def test_removal_cycle_through_concurrently_added_delegates_removes_the_cycle() -> None:
    w, y = key(4), key(5)
    scenario = _fleet_of(B, C)
    add_w = scenario.act(B, "admin.add", {"key": pub(w)})
    add_y = scenario.act(C, "admin.add", {"key": pub(y)})
    scenario.sync(B, w)
    scenario.sync(C, y)
    w_removes_c = scenario.act(w, "admin.remove", {"key": pub(C)})
    y_removes_b = scenario.act(y, "admin.remove", {"key": pub(B)})
    log = scenario.log()
    assert log.verdict(w_removes_c.hash).is_valid and log.verdict(y_removes_b.hash).is_valid
    assert "strong removal" in log.verdict(add_w.hash).reason
    assert "strong removal" in log.verdict(add_y.hash).reason
    assert log.roster.admins == {pub(A)}
