"""Agents verify their orders against the roster entries alone."""

from audit_fixtures import Scenario, hash_hex, key, meta_args, pub

from fleetdocs.audit import Status, verify_in_roster
from fleetdocs.audit.actions import ADMIN_CHANGES

A, B = key(0), key(1)
AGENT = pub(key(20))


def _roster_raws(scenario: Scenario) -> list[bytes]:
    return [e.raw for e in scenario.entries if e.action in ADMIN_CHANGES]


def _assign(scenario: Scenario, by: object) -> bytes:
    args = {"artifact": hash_hex(4), "agents": [AGENT], "selector": "all"}
    return scenario.act(by, "assign", args).raw  # type: ignore[arg-type]


def test_assignment_by_current_admin_verifies_without_the_rest_of_the_log() -> None:
    scenario = Scenario()
    scenario.add_admin(A, B)
    for index in range(3):
        scenario.act(B, "meta", meta_args(bytes([index])))
    order = _assign(scenario, B)
    assert verify_in_roster(scenario.fleet_id, _roster_raws(scenario), order).is_valid


def test_assignment_by_removed_admin_is_rejected_on_the_agent() -> None:
    scenario = Scenario()
    scenario.add_admin(A, B)
    scenario.act(A, "admin.remove", {"key": pub(B)})
    order = _assign(scenario, B)
    verdict = verify_in_roster(scenario.fleet_id, _roster_raws(scenario), order)
    assert verdict.status is Status.INVALID and "strong removal" in verdict.reason


def test_forged_or_foreign_assignment_is_rejected_on_the_agent() -> None:
    scenario = Scenario()
    other = Scenario(name="other")
    foreign = _assign(other, A)
    assert "replayed" in verify_in_roster(scenario.fleet_id, _roster_raws(scenario), foreign).reason
    outsider_order = _assign(scenario, key(9))
    verdict = verify_in_roster(scenario.fleet_id, _roster_raws(scenario), outsider_order)
    assert "not an admin" in verdict.reason
