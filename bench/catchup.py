"""Catch-up: a coordinator offline while an admin makes K actions, then reconnects.

Real processes: the admin's K actions are signed into its home while no daemon runs;
then both daemons start and the clock runs from the coordinator's start until its
`audit log` lists every entry (node start, sync, verification and the CLI poll included).
Baseline: a fresh raw iroh-docs replica joining a namespace that holds the same K entry
byte strings, until it holds them all, in one process.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench.inprocess import drain
from bench.results import BenchError, Result, wait_for
from fleetdocs.audit import actions, next_entry
from fleetdocs.daemon import DEBOUNCE
from fleetdocs.home import Home
from fleetdocs.identity import Identity
from fleetdocs.ledger import Ledger, now_us
from fleetdocs.net.node import running_node
from fleetdocs.scopes import CONTROL, audit_key
from fleetdocs.session import Session, open_session
from tests.fleet.harness import Fleet, fleet_in

TIMEOUT = 300.0
LIMIT = ("set reconciliation + blob content download of K entries, then one ledger read that "
         "verifies every signature (CPU)")


def run(actions_count: int) -> list[Result]:
    return asyncio.run(_run(actions_count))


async def _run(count: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-catchup-") as scratch, \
            fleet_in(Path(scratch) / "fleet") as fleet:
        _coordinator_fleet(fleet)
        async with open_session(Home(fleet.home("A"))) as admin:
            raws = await _offline_actions(admin, count)
        fleet.start("A")
        started = time.perf_counter()
        fleet.start("C1")
        converged = wait_for(lambda: _entries(fleet, "C1") >= count + 2, TIMEOUT,
                             f"the coordinator to catch up on {count} actions", interval=0.2)
        baseline = await _raw_catch_up(Path(scratch) / "raw", raws)
    params = {"actions": count}
    return [
        Result("catchup", f"coordinator catch-up after {count} actions", converged - started,
               "s", baseline, f"fresh raw iroh-docs replica of the same {count} entries", LIMIT,
               params),
        Result("catchup", f"fresh raw iroh-docs replica of {count} entries", baseline, "s",
               None, None, "set reconciliation and content download on loopback", params),
    ]


def _coordinator_fleet(fleet: Fleet) -> None:
    """Admin A and coordinator C1 that have synced and know each other; no daemon left."""
    fleet.run("A", "fleet", "create", "catchup")
    fleet.start("A")
    fleet.add_coordinator("A", "C1")
    coordinator = fleet.key("C1")
    wait_for(lambda: any(peer["id"] == coordinator for peer in fleet.json("A", "peers")),
             TIMEOUT, "the admin to learn the coordinator's address", interval=0.5)
    fleet.stop("C1")
    fleet.stop("A")


def _entries(fleet: Fleet, home: str) -> int:
    return len(fleet.json_lines(home, "audit", "log"))


async def _offline_actions(admin_session: Session, count: int) -> list[bytes]:
    """Sign and store `count` artifact.add actions in one go (Ledger.append would re-read
    the whole log for each); returns their bytes."""
    log = (await Ledger(admin_session).read()).log
    control = await admin_session.scope(CONTROL)
    raws = []
    for number in range(count):
        args = {"artifact": os.urandom(32).hex(), "kind": "file", "name": f"catchup-{number}",
                "size": number + 1}
        entry = next_entry(log, admin_session.identity.signing_key, actions.ARTIFACT_ADD, args,
                           time_us=now_us())
        log.observe(entry.raw)
        await control.put(audit_key(entry.author, entry.seq), entry.to_bytes())
        raws.append(entry.to_bytes())
    return raws


async def _raw_catch_up(root: Path, values: list[bytes]) -> float:
    """A replica that joins after the K entries were written, until it holds them all."""
    root.mkdir()
    async with running_node(root / "one", Identity.generate(), "127.0.0.1:0") as one:
        replica = await one.create_namespace()
        for number, value in enumerate(values):
            await replica.put(b"entry/%d" % number, value)
        async with running_node(root / "two", Identity.generate(), "127.0.0.1:0") as two:
            with two.events.listen() as events:
                started = time.perf_counter()
                copy = await two.import_capability(await replica.share_capability(),
                                                   [await one.addr()])
                deadline = started + TIMEOUT
                while len(await copy.entries(b"entry/")) < len(values):
                    if time.perf_counter() > deadline:
                        raise BenchError("raw iroh-docs replica never caught up")
                    try:
                        await asyncio.wait_for(events.get(), 1.0)
                    except TimeoutError:
                        await copy.sync([await one.addr()])
                        continue
                    await asyncio.sleep(DEBOUNCE)
                    drain(events)
            return time.perf_counter() - started
