"""A fleet of real `fleetdocs` processes (tests/fleet/harness.py): admin, coordinator, agents.

Shared by the rollout and daemon benchmarks, so both measure what an operator runs.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from bench.results import BenchError, wait_for
from tests.fleet.harness import Fleet

ENROLL_TIMEOUT = 120.0
# Generous: with N daemons on 2 cores the post-activation confirmation can take over 30 s,
# and an agent that misses it rolls back for good (measured with 10 agents).
CONFIRM_TIMEOUT = 120.0


def agent_names(count: int) -> list[str]:
    return [f"X{number}" for number in range(count)]


def start_fleet(fleet: Fleet, agents: int, store_roots: Path) -> dict[str, str]:
    """Admin A and coordinator C1 running, `agents` enrolled and approved agents running;
    returns each agent home's id.

    Each agent is approved as soon as its request reached the admin, as devices come online
    one by one: a crowd of pending agents all watching the shared enrollment namespace for
    their grants costs the machine more than the fleet they become.
    """
    fleet.run("A", "fleet", "create", "bench")
    fleet.start("A")
    fleet.add_coordinator("A", "C1")
    ticket = fleet.run("A", "invite", "agent").stdout.strip()
    ids = {}
    for name in agent_names(agents):
        agent = fleet.json(name, "agent", "enroll", ticket, "--store-root", str(store_roots / name),
                           "--confirm-timeout", str(CONFIRM_TIMEOUT))["agent"]
        fleet.start(name)
        wait_for(partial(_requested, fleet, agent), ENROLL_TIMEOUT,
                 f"{name}'s enrollment request", interval=0.3)
        fleet.run("A", "enroll", "approve", agent)
        ids[name] = agent
    return ids


def _requested(fleet: Fleet, agent: str) -> bool:
    return any(request["agent"] == agent for request in fleet.json("A", "enroll", "list")["requests"])


def healthy_on(fleet: Fleet, artifact: str) -> set[str]:
    """The agents that run `artifact` healthily, in the admin's status; BenchError if one
    gave up on it."""
    rows = fleet.json("A", "status")["agents"]
    failed = [row for row in rows if row["phase"] == "rolled-back"]
    if failed:
        raise BenchError(f"agent {failed[0]['id'][:12]} rolled back: {failed[0]['last_error']}")
    return {row["id"] for row in rows if row.get("current") == artifact and row["phase"] == "healthy"}


def proc_kib(pid: int, name: str = "status") -> dict[str, int]:
    """The kB fields of /proc/PID/NAME (status, smaps_rollup)."""
    fields = {}
    for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            fields[name] = int(value.split()[0])
    return fields
