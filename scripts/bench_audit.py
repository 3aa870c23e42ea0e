"""Benchmark: ``audit verify`` entries/s beside the raw pynacl verify rate, same run.

``run(n)`` builds a synthetic fleet history of ``n`` entries (three admins writing
concurrently, syncing now and then; a realistic mix of metadata changes, assignments,
artifacts and enrollments), then times a fresh :class:`AuditLog` observing all of them and
judging the whole set, and times bare ``VerifyKey.verify`` over the very same signed
messages. The ratio is the share of raw signature speed the full verification keeps.

    python scripts/bench_audit.py 100000     # prints one JSON object per line
"""

import base64
import json
import random
import sys
import time
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from fleetdocs.audit import AuditEntry, AuditLog, create_fleet, sign_entry
from fleetdocs.audit.entry import Dep

ADMINS = 3
SYNC_PROBABILITY = 0.05


def run(n: int) -> list[dict[str, Any]]:
    """Generate ``n`` entries, measure both rates, return JSON-able result dicts."""
    entries = _history(n)
    raws = [entry.raw for entry in entries]
    checks = [
        (VerifyKey(bytes.fromhex(e.author)), e.signing_message(), bytes.fromhex(e.sig))
        for e in entries
    ]
    raw_before = _time_raw_verify(checks)
    started = time.perf_counter()
    log = AuditLog(entries[0].hash)
    log.observe_all(raws)
    valid = len(log.valid_entries())
    verify_seconds = time.perf_counter() - started
    raw_after = _time_raw_verify(checks)
    if valid != len(entries):
        raise RuntimeError(f"benchmark history not fully valid: {valid}/{len(entries)}")
    # Raw speed is measured before and after and averaged: on shared machines the CPU
    # speed drifts, and one-sided timing would bias the ratio either way.
    raw_seconds = (raw_before + raw_after) / 2

    audit_rate = len(entries) / verify_seconds
    raw_rate = len(entries) / raw_seconds
    return [
        {
            "name": "audit_verify",
            "value": round(audit_rate, 1),
            "unit": "entries/s",
            "baseline": round(raw_rate, 1),
            "ratio": round(audit_rate / raw_rate, 3),
        },
        {
            "name": "pynacl_verify",
            "value": round(raw_rate, 1),
            "unit": "verifies/s",
            "baseline": None,
            "ratio": None,
        },
    ]


def _time_raw_verify(checks: list[tuple[VerifyKey, bytes, bytes]]) -> float:
    started = time.perf_counter()
    for verify_key, message, signature in checks:
        verify_key.verify(message, signature)
    return time.perf_counter() - started


def _history(n: int) -> list[AuditEntry]:
    """Deterministic synthetic history; tracks heads itself (linear, unlike next_entry)."""
    rng = random.Random(1)
    keys = [SigningKey(bytes([i + 1]) * 32) for i in range(ADMINS)]
    authors = [k.verify_key.encode().hex() for k in keys]
    genesis = create_fleet(keys[0], "bench", time_us=0)
    entries = [genesis]
    heads: dict[str, Dep] = {authors[0]: (authors[0], 0, genesis.hash)}
    views: list[dict[str, Dep]] = [dict(heads) for _ in keys]
    for index in range(1, ADMINS):
        add = {"key": authors[index]}
        entries.append(_write(keys[0], genesis.hash, views[0], heads, "admin.add", add))
    for view in views:
        view.update(heads)
    while len(entries) < n:
        who = rng.randrange(ADMINS)
        if rng.random() < SYNC_PROBABILITY:
            views[who].update(heads)
        action, args = _random_action(rng)
        entries.append(_write(keys[who], genesis.hash, views[who], heads, action, args))
    return entries


def _write(
    key: SigningKey,
    fleet: str,
    view: dict[str, Dep],
    heads: dict[str, Dep],
    action: str,
    args: Any,
) -> AuditEntry:
    """Sign ``key``'s next entry on top of what it has seen (``view``); update the heads."""
    author = key.verify_key.encode().hex()
    own = view.get(author)
    entry = sign_entry(
        key,
        fleet=fleet,
        seq=own[1] + 1 if own else 0,
        prev=own[2] if own else None,
        deps=[dep for other, dep in sorted(view.items()) if other != author],
        action=action,
        args=args,
        time_us=len(heads),
    )
    view[author] = heads[author] = (author, entry.seq, entry.hash)
    return entry


def _random_action(rng: random.Random) -> tuple[str, dict[str, Any]]:
    roll = rng.random()
    digest = rng.randbytes(32).hex()
    if roll < 0.6:
        change = base64.b64encode(rng.randbytes(rng.randrange(40, 400))).decode()
        return "meta", {"change": change}
    if roll < 0.8:
        agents = sorted({rng.randbytes(32).hex() for _ in range(rng.randrange(1, 6))})
        return "assign", {"artifact": digest, "agents": agents, "selector": "tag:web"}
    if roll < 0.9:
        size = rng.randrange(1, 10**10)
        return "artifact.add", {"artifact": digest, "kind": "file", "name": "web", "size": size}
    agent = rng.randbytes(32).hex()
    approve = {"agent": agent, "request": digest, "report_ns": digest, "desired_ns": digest,
               "name": "dev"}
    return "enroll.approve", approve


def main(argv: list[str]) -> None:
    for result in run(int(argv[1]) if len(argv) > 1 else 10_000):
        print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
