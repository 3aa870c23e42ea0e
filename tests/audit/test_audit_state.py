"""Fleet state folded from the valid entries."""

import base64

from audit_fixtures import Scenario, hash_hex, key, meta_args, pub

from fleetdocs.audit import Status, order_key
from fleetdocs.state import AgentStatus, fold

A, B = key(0), key(1)
AGENT_1, AGENT_2 = pub(key(20)), pub(key(21))


def _approve(agent: str, name: str) -> dict[str, str]:
    return {"agent": agent, "request": hash_hex(1), "report_ns": hash_hex(2),
            "desired_ns": hash_hex(3), "name": name}


def _fleet() -> Scenario:
    scenario = Scenario(name="lab")
    scenario.add_admin(A, B)
    scenario.act(A, "enroll.approve", _approve(AGENT_1, "web-1"))
    scenario.act(A, "artifact.add", {"artifact": hash_hex(9), "kind": "nix-closure",
                                     "name": "web", "size": 1234})
    scenario.act(A, "assign", {"artifact": hash_hex(9), "agents": [AGENT_1, AGENT_2],
                               "selector": "tag:web"})
    scenario.act(A, "meta", meta_args(b"first"))
    scenario.act(A, "meta", meta_args(b"second"))
    return scenario


def test_fold_builds_the_typed_model() -> None:
    scenario = _fleet()
    state = fold(scenario.log())
    assert state.fleet_id == scenario.fleet_id and state.name == "lab"
    assert state.admins == {pub(A), pub(B)}
    agent = state.agents[AGENT_1]
    assert (agent.status, agent.name, agent.approved_by) == (AgentStatus.APPROVED, "web-1", pub(A))
    artifact = state.artifacts[hash_hex(9)]
    assert (artifact.kind, artifact.size, artifact.added_by) == ("nix-closure", 1234, pub(A))
    assert state.assignments[AGENT_2].artifact == hash_hex(9)
    assert state.meta_changes == (b"first", b"second")
    assert state.not_valid == {}


def test_later_assignment_or_rollback_wins_concurrent_ones_by_order_key() -> None:
    scenario = _fleet()
    scenario.sync(A, B)
    by_a = scenario.act(A, "rollback", {"agent": AGENT_1, "artifact": hash_hex(5)})
    by_b = scenario.act(B, "assign", {"artifact": hash_hex(6), "agents": [AGENT_1],
                                      "selector": AGENT_1})
    winner = max(by_a, by_b, key=order_key)
    state = fold(scenario.log())
    assert state.assignments[AGENT_1].entry == winner.hash
    scenario.sync(A, B)
    final = scenario.act(B, "rollback", {"agent": AGENT_1, "artifact": hash_hex(7)})
    state = fold(scenario.log())
    assert state.assignments[AGENT_1].entry == final.hash
    assert state.assignments[AGENT_1].action == "rollback"


def test_revocation_beats_concurrent_approval_but_not_a_later_one() -> None:
    scenario = _fleet()
    scenario.sync(A, B)
    scenario.act(A, "agent.revoke", {"agent": AGENT_1})
    scenario.act(B, "enroll.approve", _approve(AGENT_1, "stale"))
    assert fold(scenario.log()).agents[AGENT_1].status is AgentStatus.REVOKED
    scenario.sync(A, B)
    scenario.act(B, "enroll.approve", _approve(AGENT_1, "re-enrolled"))
    agent = fold(scenario.log()).agents[AGENT_1]
    assert (agent.status, agent.name) == (AgentStatus.APPROVED, "re-enrolled")


def test_rejection_and_invalid_entries_are_shown_not_applied() -> None:
    scenario = _fleet()
    scenario.act(A, "enroll.reject", {"agent": AGENT_2, "request": hash_hex(3)})
    outsider = key(30)
    scenario.sync(A, outsider)
    rogue = scenario.act(outsider, "meta", meta_args(b"rogue"))
    state = fold(scenario.log())
    assert state.agents[AGENT_2].status is AgentStatus.REJECTED
    assert state.not_valid[rogue.hash].status is Status.INVALID
    assert base64.b64encode(b"rogue") not in [base64.b64encode(c) for c in state.meta_changes]
