"""Issue 3 attacks through real iroh-docs: an admin rewrites or deletes its own history.

iroh-docs lets an author replace its entry under the same key with a newer one, and delete its
entries by prefix. A coordinator's witness store keeps what it saw, so both are detected and
reported with signed evidence, and the honest log stays intact.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fleetdocs.audit import actions, sign_entry
from fleetdocs.ledger import Ledger, now_us
from fleetdocs.roles.coordinator import CoordinatorRole
from fleetdocs.scopes import CONTROL, audit_key
from tests.fleet.sessions import homes, small_fleet

pytestmark = pytest.mark.net


def test_rewrite_and_prefix_deletion_are_detected_by_a_witness(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with homes(tmp_path) as h:
            await small_fleet(h)
            honest = await Ledger(h["A"]).append(actions.ADMIN_ADD, {"key": "aa" * 32})
            original = await Ledger(h["B"]).append(actions.ADMIN_ADD, {"key": "bb" * 32})
            for name in ("C1", "A"):
                await h[name].sync_and_wait(5)
            await CoordinatorRole(h["C1"]).reconcile(h["C1"])  # witnessed and checkpointed

            # B rewrites its entry in place: same key, a different signed entry (newer in iroh).
            rewritten = sign_entry(h["B"].identity.signing_key, fleet=original.fleet,
                                   seq=original.seq, prev=original.prev, deps=original.deps,
                                   action=actions.ADMIN_ADD, args={"key": "cc" * 32},
                                   time_us=now_us())
            control = await h["B"].scope(CONTROL)
            await control.put(audit_key(original.author, original.seq), rewritten.raw)
            await h["C1"].sync_and_wait(5)
            report = await h.op("C1", "audit.verify")
            assert not report["ok"]
            kinds = {p["kind"] for p in report["problems"]}
            assert "equivocation" in kinds
            evidence = str([p["evidence"] for p in report["problems"] if p["kind"] == "equivocation"])
            assert original.hash in evidence and rewritten.hash in evidence

            # B then deletes its whole history by prefix.
            await control.delete_prefix(f"audit/{original.author}/".encode())
            await h["C1"].sync_and_wait(5)
            report = await h.op("C1", "audit.verify")
            assert "deletion" in {p["kind"] for p in report["problems"]}

            # The honest admin's entries are still valid everywhere.
            view = await Ledger(h["C1"]).read()
            assert view.log.verdict(honest.hash).is_valid
            assert "aa" * 32 in view.state.admins
    asyncio.run(scenario())
