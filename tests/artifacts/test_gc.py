"""Retention planning keeps what agents need or recently used and collects the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetdocs.artifacts.errors import ArtifactError
from fleetdocs.artifacts.gc import (
    AgentGenerations,
    ArtifactRecord,
    Keep,
    KeepReason,
    blobs_to_collect,
    plan_agent,
    plan_retention,
    store_paths_to_delete,
)
from fleetdocs.artifacts.manifest import ClosureManifest, StorePathEntry
from fleetdocs.artifacts.nixhash import format_nar_hash

NOW = datetime(2025, 1, 1, tzinfo=UTC)
WEEK = timedelta(days=7)


def old(artifact: str) -> ArtifactRecord:
    return ArtifactRecord(artifact, NOW - 2 * WEEK)


def test_reasons_and_collection() -> None:
    plan = plan_retention(
        [old("run"), old("next"), old("prev"), old("stale"), ArtifactRecord("fresh", NOW)],
        [AgentGenerations("laptop", running="run", previous="prev", assigned="next")],
        now=NOW,
        retention=WEEK,
    )
    assert plan.collect == ("stale",)
    assert plan.keep["run"] == (Keep(KeepReason.RUNNING, "laptop"),)
    assert plan.keep["prev"] == (Keep(KeepReason.ROLLBACK, "laptop"),)
    assert plan.keep["next"] == (Keep(KeepReason.ASSIGNED, "laptop"),)
    assert plan.keep["fresh"] == (Keep(KeepReason.RECENT),)
    assert str(plan.keep["run"][0]) == "running on laptop"
    assert plan.missing == ()


def test_every_reason_is_reported_and_unknown_ids_are_missing() -> None:
    plan = plan_retention(
        [ArtifactRecord("a", NOW)],
        [AgentGenerations("x", running="a"), AgentGenerations("y", previous="a", assigned="b")],
        now=NOW,
        retention=WEEK,
    )
    assert set(plan.keep["a"]) == {
        Keep(KeepReason.RUNNING, "x"),
        Keep(KeepReason.ROLLBACK, "y"),
        Keep(KeepReason.RECENT),
    }
    assert plan.missing == ("b",)


def test_negative_retention_is_refused() -> None:
    with pytest.raises(ArtifactError, match="negative"):
        plan_retention([], [], now=NOW, retention=-WEEK)


def test_agent_keeps_current_previous_and_assigned() -> None:
    plan = plan_agent(["g1", "g2", "g3", "g3"], "g4", ["g1", "g2", "g3", "g4", "junk"])
    assert set(plan.keep) == {"g2", "g3", "g4"}
    assert plan.collect == ("g1", "junk")
    assert plan_agent([], None, ["a"]).collect == ("a",)


def test_shared_blobs_survive() -> None:
    plan = plan_retention(
        [old("keep"), old("drop")],
        [AgentGenerations("x", running="keep")],
        now=NOW,
        retention=WEEK,
    )
    blobs = {"keep": frozenset({"shared", "k"}), "drop": frozenset({"shared", "d"})}
    assert blobs_to_collect(plan, blobs) == {"drop", "d"}


def closure(*paths: str) -> ClosureManifest:
    entries = tuple(StorePathEntry(path, format_nar_hash(bytes(32)), 1, (), "0" * 64) for path in paths)
    return ClosureManifest("c", paths[0], entries)


def test_store_paths_shared_with_kept_closures_survive() -> None:
    kept, dropped = closure("/nix/store/a", "/nix/store/b"), closure("/nix/store/b", "/nix/store/c")
    assert store_paths_to_delete([kept], [dropped]) == {"/nix/store/c"}


ids = st.sampled_from("abcdefgh")
optional_ids = st.none() | ids


@given(
    st.lists(st.tuples(ids, st.integers(0, 30)), unique_by=lambda pair: pair[0]),
    st.lists(st.builds(AgentGenerations, st.text(max_size=3), optional_ids, optional_ids, optional_ids)),
    st.integers(0, 30),
)
def test_plan_partitions_and_never_collects_what_an_agent_needs(
    ages: list[tuple[str, int]], agents: list[AgentGenerations], retention_days: int
) -> None:
    records = [ArtifactRecord(artifact, NOW - timedelta(days=age)) for artifact, age in ages]
    plan = plan_retention(records, agents, now=NOW, retention=timedelta(days=retention_days))
    known = {artifact for artifact, _ in ages}
    assert set(plan.keep) | set(plan.collect) == known
    assert not set(plan.keep) & set(plan.collect)
    needed = {
        artifact
        for agent in agents
        for artifact in (agent.running, agent.previous, agent.assigned)
        if artifact is not None
    }
    assert not needed & set(plan.collect)
    assert set(plan.missing) == needed - known
    for artifact, age in ages:
        if artifact not in needed:
            assert (artifact in plan.collect) == (age >= retention_days)
