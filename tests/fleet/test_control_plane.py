"""Issue 2, end to end: 2 coordinators + 2 admins as real processes on separate hosts.

Admin A works while cut off from everyone, then reaches only the *other* coordinator (C2)
over a private link; everything it did reaches C1 and B through C2, and B's concurrent work
reaches A the same way. Then every process restarts: state and peers survive and sync
resumes without re-joining.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey

from tests.fleet.harness import Fleet, Network, fleet_in, wait_until

pytestmark = pytest.mark.net
PRINCIPALS = ("A", "B", "C1", "C2")


def valid_hashes(fleet: Fleet, name: str) -> set[str]:
    return {row["hash"] for row in fleet.json_lines(name, "audit", "log") if row["status"] == "valid"}


def fresh_key() -> str:
    return bytes(SigningKey.generate().verify_key).hex()


def converged(fleet: Fleet, names: tuple[str, ...], must_hold: set[str]) -> bool:
    logs = [valid_hashes(fleet, name) for name in names]
    return all(log == logs[0] for log in logs) and must_hold <= logs[0]


def admin_add_hash(fleet: Fleet, name: str, key: str) -> str:
    return str(fleet.json(name, "admin", "add", key)["hash"])


def test_offline_admin_converges_through_the_other_coordinator_and_restarts(tmp_path: Path) -> None:
    network = Network()
    try:
        with fleet_in(tmp_path, env={"FLEETDOCS_BIND_HOST": "0.0.0.0"}) as fleet:
            lan = {}
            for name in PRINCIPALS:
                fleet.netns[name], lan[name] = network.add_host(name)
            a_private, _ = network.add_link(fleet.netns["A"], fleet.netns["C2"], 1)

            fleet.run("A", "fleet", "create", "partition-test")
            fleet.start("A")
            for coordinator in ("C1", "C2"):
                fleet.add_coordinator("A", coordinator)
            admin_add_hash(fleet, "A", fleet.key("B"))
            fleet.run("B", "join", fleet.run("A", "invite", "admin").stdout.strip())
            fleet.start("B")
            baseline = valid_hashes(fleet, "A")
            wait_until(lambda: converged(fleet, PRINCIPALS, baseline), 60, "initial convergence")

            # A's laptop goes offline: its daemon stops and both of its links are cut.
            fleet.stop("A")
            network.set_link(fleet.netns["A"], lan["A"], up=False)
            network.set_link(fleet.netns["A"], a_private, up=False)
            offline = {admin_add_hash(fleet, "A", fresh_key()) for _ in range(2)}
            concurrent = admin_add_hash(fleet, "B", fresh_key())
            assert offline <= valid_hashes(fleet, "A"), "offline changes apply to A's replica"
            assert not offline & valid_hashes(fleet, "C1"), "nothing left A while it was cut off"

            # A reaches only C2, over the private link; C1 and B are unreachable from A.
            network.set_link(fleet.netns["A"], a_private, up=True)
            c1, c2 = fleet.key("C1"), fleet.key("C2")

            def a_reached_c2_only() -> bool:
                synced = fleet.json("A", "sync", "--timeout", "8")["synced_with"]
                assert c1 not in synced, "C1 is unreachable from A"
                return c2 in synced

            wait_until(a_reached_c2_only, 90, "A to reach C2 over the private link")
            fleet.start("A")
            wanted = offline | {concurrent}
            wait_until(lambda: converged(fleet, PRINCIPALS, wanted), 60,
                       "convergence of A's offline work and B's concurrent work through C2")
            roster = fleet.json("C1", "admin", "list")
            assert len(roster["admins"]) == 5 and len(roster["coordinators"]) == 2

            # Every process restarts: nothing is re-joined, state and peers survive.
            for name in PRINCIPALS:
                fleet.stop(name)
            for name in PRINCIPALS:
                assert fleet.json(name, "peers"), f"{name} forgot its peers"
                fleet.start(name)
            after_restart = admin_add_hash(fleet, "B", fresh_key())
            wait_until(lambda: converged(fleet, PRINCIPALS, wanted | {after_restart}), 60,
                       "sync to resume after every process restarted")
            assert fleet.json("A", "audit", "verify")["ok"]
    finally:
        network.close()
