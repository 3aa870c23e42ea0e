"""Propagation: an admin action's latency to a coordinator and to an agent (p50, p99).

Baseline: raw iroh-docs, one `set_bytes` on one node until the other node reports the
INSERT_REMOTE, on the same machine and in the same process. The fleet path adds the
ledger read (signature verification of the whole log), the coordinator's reconcile that
copies the assignment into the agent's desired namespace, and a second hop.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.inprocess import (
    add_file_artifact,
    coordinator_fleet,
    enroll_agent,
    in_log,
    until,
)
from bench.results import BenchError, Result, percentile
from fleetdocs.audit import actions
from fleetdocs.identity import Identity
from fleetdocs.ledger import Ledger
from fleetdocs.net.node import FleetNode, Replica, running_node
from fleetdocs.roles.agent import AgentRole
from fleetdocs.roles.coordinator import CoordinatorRole
from tests.fleet.sessions import homes

TIMEOUT = 30.0
LIMIT = ("gossip delivery on loopback plus a full ledger read (verify every entry) per check; "
         "agent hop adds the coordinator's reconcile; CPU-bound on 2 cores")


def run(actions_count: int) -> list[Result]:
    return asyncio.run(_run(actions_count))


async def _run(count: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-propagation-") as scratch:
        raw = await _raw_latencies(Path(scratch) / "raw", count)
        to_coordinator, to_agent = await _fleet_latencies(Path(scratch) / "fleet", count)
    params = {"actions": count}
    results = []
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        baseline = percentile(raw, fraction)
        for hop, samples in (("coordinator", to_coordinator), ("agent", to_agent)):
            results.append(Result("propagation", f"admin action -> {hop} {label}",
                                  percentile(samples, fraction), "s", baseline,
                                  f"iroh-docs set_bytes -> remote insert {label}", LIMIT, params))
        results.append(Result("propagation", f"iroh-docs set_bytes -> remote insert {label}",
                              baseline, "s", None, None,
                              "iroh-docs live sync on loopback", params))
    return results


async def _raw_latencies(root: Path, count: int) -> list[float]:
    root.mkdir()
    async with running_node(root / "one", Identity.generate(), "127.0.0.1:0") as one, \
            running_node(root / "two", Identity.generate(), "127.0.0.1:0") as two:
        replica = await one.create_namespace()
        await two.import_capability(await replica.share_capability(), [await one.addr()])
        await _raw_put_and_wait(replica, two, b"warm-up")
        samples = []
        for number in range(count):
            samples.append(await _raw_put_and_wait(replica, two, b"%d" % number))
        return samples


async def _raw_put_and_wait(sender: Replica, receiver: FleetNode, value: bytes) -> float:
    with receiver.events.listen() as events:
        started = time.perf_counter()
        await sender.put(b"key/" + value, value)
        deadline = started + TIMEOUT
        while (remaining := deadline - time.perf_counter()) > 0:
            event = await asyncio.wait_for(events.get(), remaining)
            if event.kind == "insert_remote":
                return time.perf_counter() - started
    raise BenchError("raw iroh-docs insert never reached the other node")


async def _fleet_latencies(root: Path, count: int) -> tuple[list[float], list[float]]:
    async with homes(root) as h:
        await coordinator_fleet(h)
        coordinator = CoordinatorRole(h["C1"])
        agent = await enroll_agent(h, "X", coordinator)
        payload = root / "payload"
        payload.write_bytes(b"propagation benchmark payload\n")
        artifact = await add_file_artifact(h, "A", payload)
        agent_role = AgentRole(h["X"])
        to_coordinator, to_agent = [], []
        for _ in range(count + 1):  # the first round warms caches and is dropped
            started = time.perf_counter()
            entry = await Ledger(h["A"]).append(
                actions.ASSIGN, {"artifact": artifact, "agents": [agent], "selector": "bench"})
            async def logged(e: str = entry.hash) -> bool:
                return await in_log(h["C1"], e)

            async def assigned(e: str = entry.hash) -> bool:
                candidate = await agent_role.newest_assignment(h["X"])
                return candidate is not None and candidate.entry.hash == e

            reached = await until(h["C1"], logged, TIMEOUT, "the action to reach the coordinator")
            await coordinator.reconcile(h["C1"])
            served = await until(h["X"], assigned, TIMEOUT, "the assignment to reach the agent")
            to_coordinator.append(reached - started)
            to_agent.append(served - started)
        return to_coordinator[1:], to_agent[1:]
