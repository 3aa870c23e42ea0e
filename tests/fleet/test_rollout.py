"""Issue 6, end to end: 2 coordinators, 1 admin, 3 agents, a real Nix closure, real processes.

invite -> enroll -> approve -> assign -> all three activated, healthy and reported in
`fleetdocs status --json`. Then a second generation: a failing health check on one agent rolls
back that agent only and reports why; the coordinator an agent is downloading from is killed
mid-transfer, so the agent completes from the other; an agent
killed mid-download and restarted ends healthy on one generation.

Each process has its own network namespace. The admin and the coordinators share a bridge;
each agent reaches only the two coordinators, over links shaped to a slow uplink, so a
download takes seconds and can be caught in flight, and the only other source is the other
coordinator.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.harness import Fleet, Network, fleet_in, wait_until
from tests.fleet.nix_closures import build_configuration, requires_nix

pytestmark = [pytest.mark.net, requires_nix]
AGENTS = ("X1", "X2", "X3")
COORDINATORS = ("C1", "C2")
UPLINK_MBIT = 16
V2_PAYLOAD_KIB = 12 * 1024
ATTEMPT = re.compile(r"blob (\w+)… from (\w+)…: (.+)$")


def agent_rows(fleet: Fleet, home: str) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in fleet.json(home, "status")["agents"]}


def all_on(fleet: Fleet, home: str, artifact: str, names: tuple[str, ...]) -> bool:
    rows = agent_rows(fleet, home)
    return all(rows.get(n, {}).get("current") == artifact and rows[n]["phase"] == "healthy"
               for n in names)


def holds(fleet: Fleet, home: str, artifact: str) -> bool:
    return any(a["artifact"] == artifact and a["local"] == "complete"
               for a in fleet.json(home, "artifact", "list"))


def blob_attempts(fleet: Fleet, home: str) -> list[tuple[str, str, str]]:
    """(blob, peer, outcome) for every download attempt the daemon logged, in order."""
    text = (fleet.root / f"{home}.log").read_text(errors="replace")
    return [(m[1], m[2], m[3]) for m in map(ATTEMPT.search, text.splitlines()) if m]


def in_flight(fleet: Fleet, home: str) -> set[tuple[str, str]]:
    """(blob, peer) attempts asked for and not yet answered."""
    asked: set[tuple[str, str]] = set()
    for blob, peer, outcome in blob_attempts(fleet, home):
        if outcome == "asking":
            asked.add((blob, peer))
        else:
            asked.discard((blob, peer))
    return asked


def wait_in_flight(fleet: Fleet, home: str, peers: set[str], what: str) -> tuple[str, str]:
    """An attempt from one of `peers` that stays in flight across two looks 0.5 s apart:
    a large blob still streaming, not one about to finish."""
    found: list[tuple[str, str]] = []

    def steady() -> bool:
        before = {a for a in in_flight(fleet, home) if a[1] in peers}
        time.sleep(0.5)
        found[:] = sorted(before & in_flight(fleet, home))
        return bool(found)

    wait_until(steady, 60, what, interval=0)
    return found[0]


@contextmanager
def shaped_fleet(tmp_path: Path) -> Iterator[tuple[Fleet, Network]]:
    """A on a bridge with C1 and C2; each agent linked to C1 and C2 only, downlinks shaped."""
    network = Network()
    try:
        env = {"FLEETDOCS_BIND_HOST": "0.0.0.0",
               "FLEETDOCS_TEST_ACTIVATIONS": str(tmp_path / "activations")}
        with fleet_in(tmp_path, env=env) as fleet:
            for name in ("A", *COORDINATORS):
                fleet.netns[name], _ = network.add_host(name)
            for index, agent in enumerate(AGENTS):
                fleet.netns[agent] = network.add_namespace(agent)
                for offset, coordinator in enumerate(COORDINATORS):
                    downlink, _ = network.add_link(fleet.netns[coordinator], fleet.netns[agent],
                                                   1 + 2 * index + offset)
                    network.limit_rate(fleet.netns[coordinator], downlink, UPLINK_MBIT)
            yield fleet, network
    finally:
        network.close()


def test_rollout_rollback_failover_and_restart(tmp_path: Path) -> None:
    activations = tmp_path / "activations"
    with shaped_fleet(tmp_path) as (fleet, _):
        fleet.run("A", "fleet", "create", "rollout")
        fleet.start("A")
        for coordinator in COORDINATORS:
            fleet.add_coordinator("A", coordinator)

        ticket = fleet.run("A", "invite", "agent").stdout.strip()
        for name in AGENTS:
            marker = tmp_path / f"unhealthy-{name}"
            fleet.run(name, "agent", "enroll", ticket, "--store-root", str(tmp_path / f"root-{name}"),
                      "--health-check", f"sh -c 'test ! -e {marker}'", "--confirm-timeout", "90")
            fleet.start(name)
        wait_until(lambda: len(fleet.json("A", "enroll", "list")["requests"]) == 3, 30,
                   "three enrollment requests")
        for request in fleet.json("A", "enroll", "list")["requests"]:
            fleet.run("A", "enroll", "approve", request["agent"], "--name",
                      str(request["facts"]["hostname"]) + request["agent"][:4])
        names = {row["id"]: row["name"] for row in fleet.json("A", "status")["agents"]}
        coordinator_of = {fleet.key(c)[:12]: c for c in COORDINATORS}
        by_home = {home: names[fleet.key(home)] for home in AGENTS}

        v1_path = build_configuration(tmp_path / "nix", "v1")
        v1 = fleet.json("A", "artifact", "add", v1_path)["artifact"]
        fleet.run("A", "assign", v1, *[arg for home in AGENTS for arg in ("--agent", fleet.key(home))])
        wait_until(lambda: all_on(fleet, "A", v1, tuple(by_home.values())), 90,
                   "all three agents healthy on v1")
        assert activations.read_text().count(v1_path.rpartition("/")[2]) >= 3

        # Second generation: X3's health check fails; the coordinator X1 is downloading from
        # is killed mid-transfer; X2 is killed mid-download and restarted.
        v2_path = build_configuration(tmp_path / "nix", "v2", payload_kib=V2_PAYLOAD_KIB)
        v2 = fleet.json("A", "artifact", "add", v2_path)["artifact"]
        wait_until(lambda: all(holds(fleet, c, v2) for c in COORDINATORS), 60,
                   "C1 and C2 to hold v2")
        (tmp_path / "unhealthy-X3").touch()
        fleet.run("A", "assign", v2, *[arg for home in AGENTS for arg in ("--agent", fleet.key(home))])
        blob, source = wait_in_flight(fleet, "X1", set(coordinator_of),
                                      "X1 to be downloading v2 from a coordinator")
        killed = coordinator_of[source]
        survivor = next(c for c in COORDINATORS if c != killed)
        fleet.kill(killed)
        wait_in_flight(fleet, "X2", set(coordinator_of), "X2 to be downloading v2")
        fleet.stop("X2", signal.SIGKILL)
        fleet.start("X2")
        healthy = (by_home["X1"], by_home["X2"])
        wait_until(lambda: all_on(fleet, "A", v2, healthy), 120, "X1 and X2 healthy on v2")
        wait_until(lambda: agent_rows(fleet, "A")[by_home["X3"]]["phase"] == "rolled-back", 60,
                   "X3 to roll back")
        x3 = agent_rows(fleet, "A")[by_home["X3"]]
        assert x3["current"] == v1 and x3["desired"] == v2 and x3["health"] == "unhealthy"
        assert "health check failed" in x3["last_error"]
        status = fleet.json("A", "status")
        rollout = next(r for r in status["rollouts"] if r["artifact"] == v2)
        assert rollout["healthy"] == 2 and rollout["failed"] == 1

        # X1's transfer from the killed coordinator failed; the same blob came from the other.
        outcomes = [(peer, outcome) for b, peer, outcome in blob_attempts(fleet, "X1")
                    if b == blob and outcome != "asking"]
        assert (source, "done") not in outcomes, f"{killed} finished the transfer: {outcomes}"
        assert any(peer == source for peer, _ in outcomes), outcomes
        other = next(peer for peer, name in coordinator_of.items() if name == survivor)
        assert (other, "done") in outcomes, outcomes
