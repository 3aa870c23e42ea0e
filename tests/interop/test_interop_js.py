"""fleetdocs metadata documents against the reference JavaScript Automerge (run with node).

CI installs the pinned package with ``npm ci`` in this folder (see .ci/run); elsewhere the tests
skip, saying which of node or node_modules is missing.
"""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fleetdocs.meta import ChangeStatus, MetaChange, MetaStore, set_value, tag_add

HERE = Path(__file__).parent
AGENT = "agent:" + "a1" * 32
JS_AGENT = "agent:" + "d4" * 32

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (HERE / "node_modules" / "@automerge" / "automerge").is_dir(),
        reason="tests/interop/node_modules missing: run `npm ci` in tests/interop",
    ),
]


def key_of(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def entry(author: bytes, change: bytes, time_us: int) -> MetaChange:
    return MetaChange(hashlib.sha256(author + change).digest(), author, time_us, change)


def oracle(command: str, actor: bytes, saved: bytes) -> dict[str, Any]:
    finished = subprocess.run(
        ["node", str(HERE / "oracle.mjs"), command, actor.hex()],
        input=saved,
        capture_output=True,
        check=True,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def conflicted_fleet() -> tuple[MetaStore, list[MetaChange]]:
    """Three admins, each offline, set one name and add a tag; then one store gets everything."""
    entries = []
    for number, name in enumerate(["alpha", "bravo", "charlie"]):
        admin, own = key_of(name), MetaStore()
        named = entry(admin, set_value(own, admin, AGENT, "name", name), number)
        own.add(named)
        entries += [named, entry(admin, tag_add(own, admin, AGENT, name), number + 10)]
    store = MetaStore.rebuild(entries)
    return store, entries


def test_js_sees_the_same_conflicts_and_heads() -> None:
    store, _ = conflicted_fleet()
    assert store.rejected == [] and store.pending == []
    seen = oracle("conflicts", key_of("js"), store.save())
    assert seen["heads"] == [head.hex() for head in store.heads()]
    ours = {f"{c.target}/{c.field}": sorted(v.value for v in c.values) for c in store.conflicts()}
    assert ours == seen["conflicts"] == {f"{AGENT}/name": ["alpha", "bravo", "charlie"]}


def test_change_made_in_js_loads_back_with_agreeing_heads() -> None:
    store, _ = conflicted_fleet()
    js_admin = key_of("js admin")
    made = oracle("edit", js_admin, store.save())
    change = entry(js_admin, bytes.fromhex(made["change"]), 100)
    assert store.add(change) is ChangeStatus.ACCEPTED
    assert [head.hex() for head in store.heads()] == made["heads"]
    assert store.show(JS_AGENT) == {JS_AGENT: {"name": "made in js", "tags": ["js"]}}
    assert len(store.conflicts()) == 1, "the JS edit touched another agent"


def test_counter_change_made_in_js_is_rejected_and_the_store_survives() -> None:
    store, _ = conflicted_fleet()
    js_admin = key_of("js admin")
    made = oracle("counter", js_admin, store.save())
    heads = store.heads()
    rejected = entry(js_admin, bytes.fromhex(made["change"]), 100)
    assert store.add(rejected) is ChangeStatus.REJECTED
    assert "counter" in store.rejected[0].reason
    assert store.heads() == heads
    assert store.value(AGENT, "tags") == ["alpha", "bravo", "charlie"]
