"""Issue 6, end to end: 2 coordinators, 1 admin, 3 agents, a real Nix closure, real processes.

invite -> enroll -> approve -> assign -> all three activated, healthy and reported in
`fleetdocs status --json`. Then a second generation: a failing health check on one agent rolls
back that agent only and reports why; one coordinator is killed (and the admin is offline)
while agents download, so they complete from the other; an agent killed mid-apply and
restarted ends healthy on one generation.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.harness import Fleet, fleet_in, wait_until
from tests.fleet.nix_closures import build_configuration, requires_nix

pytestmark = [pytest.mark.net, requires_nix]
AGENTS = ("X1", "X2", "X3")


def agent_rows(fleet: Fleet, home: str) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in fleet.json(home, "status")["agents"]}


def all_on(fleet: Fleet, home: str, artifact: str, names: tuple[str, ...]) -> bool:
    rows = agent_rows(fleet, home)
    return all(rows.get(n, {}).get("current") == artifact and rows[n]["phase"] == "healthy"
               for n in names)


def test_rollout_rollback_failover_and_restart(tmp_path: Path) -> None:
    activations = tmp_path / "activations"
    with fleet_in(tmp_path, env={"FLEETDOCS_TEST_ACTIVATIONS": str(activations)}) as fleet:
        fleet.run("A", "fleet", "create", "rollout")
        fleet.start("A")
        for coordinator in ("C1", "C2"):
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
        by_home = {home: names[fleet.key(home)] for home in AGENTS}

        v1_path = build_configuration(tmp_path / "nix", "v1")
        v1 = fleet.json("A", "artifact", "add", v1_path)["artifact"]
        fleet.run("A", "assign", v1, *[arg for home in AGENTS for arg in ("--agent", fleet.key(home))])
        wait_until(lambda: all_on(fleet, "A", v1, tuple(by_home.values())), 90,
                   "all three agents healthy on v1")
        assert activations.read_text().count(v1_path.rpartition("/")[2]) >= 3

        # Second generation: X3's health check fails; the admin goes offline and C1 is killed
        # while the agents download; X2 is killed mid-apply and restarted.
        v2_path = build_configuration(tmp_path / "nix", "v2", payload_kib=8192)
        v2 = fleet.json("A", "artifact", "add", v2_path)["artifact"]
        wait_until(lambda: v2 in {a["artifact"] for a in fleet.json("C2", "artifact", "list")
                                  if a["local"] == "complete"}, 60, "C2 to hold v2")
        (tmp_path / "unhealthy-X3").touch()
        assigned = fleet.json(
            "A", "assign", v2, *[arg for home in AGENTS for arg in ("--agent", fleet.key(home))])
        wait_until(lambda: assigned["hash"] in {r["hash"] for r in fleet.json_lines("C2", "audit", "log")},
                   30, "the assignment to reach C2")
        fleet.stop("A")
        fleet.kill("C1")
        fleet.stop("X2", signal.SIGKILL)
        fleet.start("X2")
        fleet.start("A")
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
