"""Attacks: each is detected and reported, and the honest part of the log stays intact."""

from audit_fixtures import Scenario, body_of, key, meta_args, pub, resign, sign_body

from fleetdocs.audit import AuditLog, ProblemKind, Status
from fleetdocs.audit.entry import storage_key
from fleetdocs.audit.witness import check_checkpoints, checkpoint_of, deletion_problem

A, B, OUTSIDER, COORD_1, COORD_2 = key(0), key(1), key(5), key(7), key(8)


def _honest_fleet() -> Scenario:
    scenario = Scenario()
    scenario.add_admin(A, B)
    scenario.act(A, "coordinator.add", {"key": pub(COORD_1), "name": "c1"})
    scenario.act(A, "coordinator.add", {"key": pub(COORD_2), "name": "c2"})
    scenario.sync(A, B)
    scenario.act(B, "meta", meta_args(b"b1"))
    scenario.act(A, "meta", meta_args(b"a1"))
    return scenario


def _assert_honest_intact(log: AuditLog, scenario: Scenario) -> None:
    for entry in scenario.entries:
        assert log.verdict(entry.hash).is_valid, log.verdict(entry.hash)
    assert log.roster.admins == {pub(A), pub(B)}


def test_forged_signature_is_rejected_and_reported() -> None:
    scenario = _honest_fleet()
    last = scenario.entries[-1]
    forged = sign_body(OUTSIDER, body_of(last) | {"seq": last.seq + 1, "prev": last.hash})
    log = scenario.log()
    digest = log.observe(forged)
    assert log.verdict(digest).status is Status.INVALID
    assert [p.kind for p in log.problems] == [ProblemKind.BAD_SIGNATURE]
    assert log.problems[0].evidence["entries"][0]["bytes"] == forged.decode()
    _assert_honest_intact(log, scenario)


def test_entry_signed_by_a_non_admin_is_unauthorized() -> None:
    scenario = _honest_fleet()
    scenario.sync(A, OUTSIDER)
    sneaky = scenario.act(OUTSIDER, "admin.add", {"key": pub(OUTSIDER)})
    log = scenario.log()
    assert "not an admin" in log.verdict(sneaky.hash).reason
    assert [p.kind for p in log.problems] == [ProblemKind.UNAUTHORIZED]
    scenario.entries.remove(sneaky)
    _assert_honest_intact(log, scenario)


def test_admin_rewriting_its_past_entry_is_equivocation_with_evidence() -> None:
    scenario = _honest_fleet()
    original = next(e for e in scenario.entries if e.author == pub(B) and e.action == "meta")
    rewritten = resign(B, original, args=meta_args(b"rewritten history"))
    same_key = storage_key(original.author, original.seq)
    assert same_key == storage_key(rewritten.author, rewritten.seq)
    witness_store = scenario.log()  # a coordinator kept the original
    witness_store.observe(rewritten.raw)  # iroh now shows the newer entry at the same key
    (problem,) = witness_store.problems
    assert problem.kind is ProblemKind.EQUIVOCATION
    assert {e["hash"] for e in problem.evidence["entries"]} == {original.hash, rewritten.hash}
    assert "equivocated" in witness_store.verdict(rewritten.hash).reason
    assert "equivocated" in witness_store.verdict(original.hash).reason
    for entry in scenario.entries:
        if entry.author != pub(B) or entry.seq < original.seq:
            assert witness_store.verdict(entry.hash).is_valid


def test_equivocation_to_two_coordinators_is_revealed_by_checkpoints_and_merge() -> None:
    scenario = _honest_fleet()
    honest = list(scenario.entries)
    version_1 = scenario.act(B, "assign", _assign_args("11" * 32))
    version_2 = resign(B, version_1, args=_assign_args("22" * 32))
    coordinator_1, coordinator_2 = scenario.log(honest), scenario.log(honest)
    coordinator_1.observe(version_1.raw)
    coordinator_2.observe(version_2.raw)
    assert coordinator_1.problems == () and coordinator_2.problems == ()
    checkpoint_1 = checkpoint_of(coordinator_1, COORD_1, counter=1, time_us=5).raw
    checkpoint_2 = checkpoint_of(coordinator_2, COORD_2, counter=1, time_us=5).raw
    (conflict,) = check_checkpoints(coordinator_1, [checkpoint_1, checkpoint_2])
    assert conflict.kind is ProblemKind.CHECKPOINT_CONFLICT
    signed = {item["hash"] for item in conflict.evidence["signed"]}
    assert version_1.hash in signed
    assert any(version_2.hash in item["bytes"] for item in conflict.evidence["signed"])
    coordinator_1.observe_all(coordinator_2.raws().values())
    assert [p.kind for p in coordinator_1.problems] == [ProblemKind.EQUIVOCATION]
    for entry in honest:
        assert coordinator_1.verdict(entry.hash).is_valid


def _assign_args(artifact: str) -> dict[str, object]:
    return {"artifact": artifact, "agents": [pub(key(20))], "selector": "tag:web"}


def test_removed_admins_concurrent_actions_are_invalid_with_reason() -> None:
    scenario = _honest_fleet()
    scenario.sync(A, B)
    removal = scenario.act(A, "admin.remove", {"key": pub(B)})
    rogue = scenario.act(B, "assign", _assign_args("33" * 32))
    log = scenario.log()
    assert "strong removal" in log.verdict(rogue.hash).reason
    assert log.verdict(removal.hash).is_valid
    assert log.roster.admins == {pub(A)}
    assert [p.kind for p in log.problems] == [ProblemKind.UNAUTHORIZED]
    assert all(log.verdict(e.hash).is_valid for e in scenario.entries if e != rogue)


def test_entry_replayed_into_another_fleet_is_rejected() -> None:
    scenario = _honest_fleet()
    other = Scenario(name="other fleet")
    replayed = other.act(A, "meta", meta_args(b"for the other fleet"))
    log = scenario.log()
    for raw in (replayed.raw, other.genesis.raw):
        digest = log.observe(raw)
        assert "replayed" in log.verdict(digest).reason
    assert {p.kind for p in log.problems} == {ProblemKind.FOREIGN_FLEET}
    _assert_honest_intact(log, scenario)


def test_deleting_history_by_prefix_is_provable() -> None:
    scenario = _honest_fleet()
    witness = scenario.log()
    checkpoint = checkpoint_of(witness, COORD_1, counter=1, time_us=9).raw
    b_entries = [e for e in scenario.entries if e.author == pub(B)]
    namespace_now = scenario.log([e for e in scenario.entries if e.author != pub(B)])
    problems = check_checkpoints(namespace_now, [checkpoint])
    assert [p.kind for p in problems] == [ProblemKind.MISSING_ATTESTED_ENTRY]
    told = deletion_problem(witness, pub(B), f"audit/{pub(B)}/".encode())
    assert told.kind is ProblemKind.DELETION
    assert {e["hash"] for e in told.evidence["entries"]} == {e.hash for e in b_entries}
