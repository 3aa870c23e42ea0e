"""Artifacts over iroh: blobs between real nodes, the artifact CLI between real processes.

Done-when of issue 5: a real two-path closure added on an admin is fetched over iroh by a
coordinator joined with a ticket and materialized into a separate root without nix, and
`nix-store --dump` of every source path equals that of the materialized path.
"""

from __future__ import annotations

import asyncio
import shutil
import string
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from artifact_helpers import nix_dump, requires_nix
from hypothesis import given, settings
from hypothesis import strategies as st
from net_helpers import (
    NET_ENV,
    Homes,
    blob_nodes,
    corrupt_store_copy,
    lying_blob_provider,
    random_file,
)

import fleetdocs.roles  # noqa: F401  (registers the operations)
from fleetdocs.artifacts.closure import stage_path
from fleetdocs.artifacts.errors import ArtifactError
from fleetdocs.artifacts.gc import ArtifactRecord as StoredArtifact
from fleetdocs.artifacts.gc import KeepReason, plan_retention
from fleetdocs.artifacts.manifest import ClosureManifest, DirManifest
from fleetdocs.artifacts.materialize import (
    materialize_closure,
    materialize_directory,
    store_dir_under,
)
from fleetdocs.audit import actions
from fleetdocs.errors import UsageError
from fleetdocs.home import Home
from fleetdocs.identity import Identity
from fleetdocs.ledger import Ledger
from fleetdocs.meta.errors import InvalidValueError, UnknownFieldError
from fleetdocs.net.addressbook import PeerRecord
from fleetdocs.net.blobs import (
    BlobHashError,
    BlobMismatchError,
    BlobStore,
    BlobUnavailableError,
    file_blake3,
    parse_blob_hash,
    verify_file,
)
from fleetdocs.net.tickets import PeerAddr
from fleetdocs.ops import dispatch
from fleetdocs.roles.artifacts import (
    AgentView,
    UnknownArtifactError,
    agent_generations,
    artifacts_to_replicate,
    blob_sources,
    fetch_artifact,
    order_sources,
    parse_meta_options,
    resolve_artifact,
    staging_dir,
)
from fleetdocs.session import Session, open_session
from fleetdocs.state import FleetState

T = TypeVar("T")
BLOB_SIZE = 300_000  # over 16 KiB, so iroh keeps it in a data file a test can corrupt


@pytest.fixture(autouse=True)
def loopback_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in NET_ENV.items():
        monkeypatch.setenv(name, value)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


# --- blobs between bare nodes ------------------------------------------------------------


def test_download_moves_on_when_the_first_peer_lacks_the_blob(tmp_path: Path) -> None:
    source = random_file(tmp_path / "blob", BLOB_SIZE, seed=1)
    blob = file_blake3(source)

    async def scenario() -> None:
        async with blob_nodes(tmp_path, 3) as (holder, lacking, fetcher):
            await BlobStore(holder).add_file(source, blob)
            seen: list[tuple[int, int]] = []
            store = BlobStore(fetcher, stall_timeout=2)
            served_by = await store.download(blob, [await lacking.addr(), await holder.addr()],
                                             progress=lambda done, total: seen.append((done, total)))
            assert served_by == holder.identity.public_hex
            assert seen[-1] == (BLOB_SIZE, BLOB_SIZE)
            exported = await store.export(blob, tmp_path / "out" / blob)
            assert exported.read_bytes() == source.read_bytes()
            assert await store.tagged() == {blob}
            assert await store.download(blob, []) is None  # already here: nothing to do

    run(scenario())


def test_download_moves_on_when_the_first_peer_is_down(tmp_path: Path) -> None:
    source = random_file(tmp_path / "blob", BLOB_SIZE, seed=2)
    blob = file_blake3(source)
    down = PeerAddr(Identity.generate().public, ("127.0.0.1:9",))

    async def scenario() -> None:
        async with blob_nodes(tmp_path, 2) as (holder, fetcher):
            await BlobStore(holder).add_file(source, blob)
            store = BlobStore(fetcher, stall_timeout=1)
            assert await store.download(blob, [down, await holder.addr()]) == \
                holder.identity.public_hex
            assert (await store.read(blob)) == source.read_bytes()

    run(scenario())


def test_a_peer_whose_stored_copy_is_corrupt_is_passed_over(tmp_path: Path) -> None:
    source = random_file(tmp_path / "blob", BLOB_SIZE, seed=3)
    blob = file_blake3(source)

    async def scenario() -> None:
        async with blob_nodes(tmp_path, 3) as (corrupt, honest, fetcher):
            for node in (corrupt, honest):
                await BlobStore(node).add_file(source, blob)
            corrupt_store_copy(tmp_path / "node0", blob)
            store = BlobStore(fetcher, stall_timeout=2)
            with pytest.raises(BlobUnavailableError, match="no peer delivered"):
                await store.download(blob, [await corrupt.addr()], rounds=1)
            assert not await store.has(blob)
            assert await store.download(blob, [await corrupt.addr(), await honest.addr()]) == \
                honest.identity.public_hex
            assert file_blake3(await store.export(blob, tmp_path / "good")) == blob

    run(scenario())


def test_bytes_that_do_not_match_the_hash_on_the_wire_are_rejected(tmp_path: Path) -> None:
    """A peer that lies on purpose (not a corrupted store, which iroh refuses to serve)."""
    source = random_file(tmp_path / "blob", 8 * 1024, seed=7)
    blob = file_blake3(source)

    async def scenario() -> None:
        async with blob_nodes(tmp_path, 2) as (honest, fetcher), \
                lying_blob_provider(tmp_path / "liar", 8 * 1024) as (liar, lies):
            await BlobStore(honest).add_file(source, blob)
            store = BlobStore(fetcher, stall_timeout=2)
            with pytest.raises(BlobUnavailableError,
                               match=f"{liar.node_id_hex[:12]}…: sent bytes that do not match"):
                await store.download(blob, [liar], rounds=1)
            assert lies.served == 1, "the liar answered; its bytes were refused"
            assert not await store.has(blob)
            assert await store.download(blob, [liar, await honest.addr()]) == \
                honest.identity.public_hex
            assert file_blake3(await store.export(blob, tmp_path / "good")) == blob

    run(scenario())


def test_corrupted_local_bytes_are_caught_on_export(tmp_path: Path) -> None:
    source = random_file(tmp_path / "blob", BLOB_SIZE, seed=4)
    blob = file_blake3(source)

    async def scenario() -> None:
        async with blob_nodes(tmp_path, 1) as (node,):
            store = BlobStore(node)
            await store.add_file(source, blob)
            corrupt_store_copy(tmp_path / "node0", blob)
            destination = tmp_path / "exported"
            with pytest.raises(BlobMismatchError):
                await store.export(blob, destination)
            assert not destination.exists()
            assert list(tmp_path.glob(".partial-*")) == []

    run(scenario())


def test_adding_a_file_whose_hash_is_not_the_expected_one_keeps_nothing(tmp_path: Path) -> None:
    source = random_file(tmp_path / "blob", 1000, seed=5)
    claimed = file_blake3(random_file(tmp_path / "other", 1000, seed=6))

    async def scenario() -> None:
        async with blob_nodes(tmp_path, 1) as (node,):
            store = BlobStore(node)
            with pytest.raises(BlobMismatchError, match="changed since it was staged"):
                await store.add_file(source, claimed)
            assert not await store.has(claimed)
            assert await store.tagged() == frozenset()

    run(scenario())


def test_delete_removes_a_blob_and_its_tag(tmp_path: Path) -> None:
    source = random_file(tmp_path / "blob", BLOB_SIZE, seed=7)
    blob = file_blake3(source)

    async def scenario() -> None:
        async with blob_nodes(tmp_path, 1) as (node,):
            store = BlobStore(node)
            await store.add_file(source, blob)
            assert await store.size(blob) == BLOB_SIZE
            assert await store.delete(blob)
            assert not await store.has(blob)
            assert await store.tagged() == frozenset()
            assert not await store.delete(blob)

    run(scenario())


# --- the done-when flow between real processes -------------------------------------------


@pytest.fixture(scope="module")
def published(built_closure: str, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Homes, dict[str, Any]]]:
    """Admin A and coordinator C (daemons), coordinator D (no daemon), joined by ticket; the
    closure added on A through its daemon."""
    homes = Homes(tmp_path_factory.mktemp("homes"))
    try:
        homes.cli("A", "fleet", "create", "artifacts")
        homes.start("A")
        homes.join_coordinator("A", "C")
        homes.start("C")
        homes.join_coordinator("A", "D")
        added = homes.json("A", "artifact", "add", built_closure, "--name", "config",
                           "--meta", "release_notes=first build", "--meta", "labels=canary")
        yield homes, added
    finally:
        homes.close()


async def session_do(home: Path, action: Any) -> Any:
    async with open_session(Home(home), create_key=True) as session:
        return await action(session)


async def learn_artifact(session: Session, artifact: str) -> FleetState:
    """Sync until the `artifact.add` entry arrived (no waiting for peers that are down)."""
    for _ in range(100):
        await session.sync_all()
        state = (await Ledger(session).read()).state
        if artifact in state.artifacts:
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"artifact {artifact[:12]} never arrived")


@requires_nix
def test_closure_added_on_admin_is_fetched_by_a_coordinator_and_materialized_without_nix(
        published: tuple[Homes, dict[str, Any]], built_closure: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    homes, added = published
    artifact = added["artifact"]
    assert added["kind"] == "nix-closure" and added["name"] == "config"
    assert [change["field"] for change in added["meta"]] == ["release_notes", "labels"]
    assert homes.json("A", "meta", "get", f"artifact:{artifact}", "release_notes")["value"] == \
        "first build"
    seen: list[tuple[int, int]] = []

    async def fetch(session: Session) -> Any:
        await learn_artifact(session, artifact)
        return await fetch_artifact(session, artifact, tmp_path / "blobs",
                                    lambda done, total: seen.append((done, total)))

    fetched = run(session_do(homes.path("D"), fetch))
    assert isinstance(fetched.manifest, ClosureManifest)
    sources = sorted(entry.path for entry in fetched.manifest.paths)
    assert len(sources) >= 2 and built_closure in sources
    assert seen[-1] == (fetched.manifest.total_nar_size, fetched.manifest.total_nar_size)
    root = tmp_path / "device"
    with monkeypatch.context() as no_nix:
        no_nix.setenv("PATH", str(tmp_path / "empty-bin"))
        assert shutil.which("nix-store") is None
        report = materialize_closure(fetched.manifest, fetched.blob_path, root=root)
    assert sorted(report.written) == sources
    for path in sources:
        assert nix_dump(store_dir_under(root) / Path(path).name) == nix_dump(path)
    listed = {row["artifact"]: row for row in homes.json("D", "artifact", "list")}
    assert listed[artifact]["local"] == "complete"
    assert listed[artifact]["blobs_present"] == len(sources)


@requires_nix
def test_a_coordinator_that_replicated_serves_the_artifact_while_the_admin_is_down(
        published: tuple[Homes, dict[str, Any]], tmp_path: Path) -> None:
    homes, added = published
    artifact = added["artifact"]
    assert homes.json("C", "artifact", "replicate") == {artifact: "complete"}
    assert homes.json("C", "artifact", "list")[0]["local"] == "complete"
    known = {peer["role"]: PeerAddr.from_json(peer) for peer in homes.json("D", "peers")}
    homes.stop("A")

    async def fetch(session: Session) -> Any:
        # A device that last saw the admin: the admin is asked first, and is down.
        await session.learn_peers([known["admin"], known["coordinator"]])
        session.book.contacted(known["admin"].node_id)
        assert blob_sources(session) == [known["admin"], known["coordinator"]]
        return await fetch_artifact(session, artifact, tmp_path / "blobs")

    fetched = run(session_do(tmp_path / "device", fetch))
    assert isinstance(fetched.manifest, ClosureManifest)
    for entry in fetched.manifest.paths:
        assert file_blake3(fetched.blob_path(entry.file)) == entry.file
    with pytest.raises(ArtifactError, match="was not fetched"):
        fetched.blob_path("0" * 64)


def test_artifact_show_and_errors_through_the_cli(published: tuple[Homes, dict[str, Any]]
                                                  ) -> None:
    homes, added = published
    shown = homes.json("C", "artifact", "show", added["artifact"][:10])
    assert shown["artifact"] == added["artifact"]
    assert {entry["path"] for entry in shown["paths"]} and all(
        entry["present"] for entry in shown["paths"])
    with pytest.raises(AssertionError, match="no artifact of this fleet"):
        homes.cli("C", "artifact", "show", "ffff0000")
    with pytest.raises(AssertionError, match="needs an admin home"):
        homes.cli("C", "artifact", "add", str(homes.root))
    with pytest.raises(AssertionError, match="unknown field 'colour'"):
        homes.cli("A", "artifact", "add", str(homes.root), "--meta", "colour=red")


# --- retention on an admin home ----------------------------------------------------------


async def add_artifact(session: Session, path: Path, name: str) -> str:
    staged = stage_path(path, staging_dir(session.home), name=name)
    result = await dispatch(session, "artifact.add", {
        "manifest": staged.manifest_bytes.decode(),
        "blobs": {blob: str(file) for blob, file in staged.blobs.items()}})
    return str(result["artifact"])


def test_gc_keeps_assigned_and_rollback_artifacts_and_collects_the_rest(tmp_path: Path) -> None:
    agent = Identity.generate().public_hex
    for index in range(3):
        (tmp_path / f"site{index}").mkdir()
        random_file(tmp_path / f"site{index}" / "index.html", BLOB_SIZE, seed=10 + index)

    async def scenario() -> None:
        async with open_session(Home(tmp_path / "admin"), create_key=True) as session:
            await dispatch(session, "fleet.create", {"name": "gc"})
            old, current, unused = [await add_artifact(session, tmp_path / f"site{i}", f"site{i}")
                                    for i in range(3)]
            ledger = Ledger(session)
            for artifact in (old, current):
                await ledger.append(actions.ASSIGN, {"artifact": artifact, "agents": [agent],
                                                     "selector": "test"})
            recent = await dispatch(session, "artifact.gc", {"dry_run": True})
            assert {row["artifact"] for row in recent["kept"]} == {old, current, unused}
            planned = await dispatch(session, "artifact.gc", {"dry_run": True, "retention": 0})
            reasons = {row["artifact"]: row["reasons"] for row in planned["kept"]}
            assert reasons[current] == [f"assigned to {agent}"]
            assert reasons[old] == [f"rollback target of {agent}"]
            assert [row["artifact"] for row in planned["collected"]] == [unused]
            assert planned["agents_without_report"] == [agent]
            assert planned["blobs_collectable"] == 2 and planned["blobs_deleted"] == 0
            store = BlobStore(session.node)
            assert await store.has(unused)
            done = await dispatch(session, "artifact.gc", {"retention": 0})
            assert done["blobs_deleted"] == 2 and done["bytes"] == planned["bytes"] > BLOB_SIZE
            local = {row["artifact"]: row["local"]
                     for row in await dispatch(session, "artifact.list", {})}
            assert local == {old: "complete", current: "complete", unused: "absent"}
            state = (await ledger.read()).state
            assert sorted(artifacts_to_replicate(session, state)) == sorted([old, current])
            fetched = await fetch_artifact(session, current, tmp_path / "blobs")
            assert isinstance(fetched.manifest, DirManifest)
            materialize_directory(fetched.manifest, fetched.blob_path, tmp_path / "out")
            assert (tmp_path / "out" / "index.html").read_bytes() == \
                (tmp_path / "site1" / "index.html").read_bytes()

    run(scenario())


def test_gc_refuses_a_negative_retention(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_session(Home(tmp_path / "admin"), create_key=True) as session:
            await dispatch(session, "fleet.create", {"name": "gc"})
            with pytest.raises(UsageError, match="must not be negative"):
                await dispatch(session, "artifact.gc", {"retention": -1})

    run(scenario())


# --- pure parts: hashes, prefixes, options, peer order, retention inputs ----------------

HEX = "0123456789abcdef"
blob_hashes = st.text(alphabet=HEX, min_size=64, max_size=64)


@given(st.text(max_size=80))
def test_blob_hashes_are_exactly_64_lowercase_hex_digits(text: str) -> None:
    valid = len(text) == 64 and all(c in HEX for c in text)
    if valid:
        assert parse_blob_hash(text) == text
    else:
        with pytest.raises(BlobHashError):
            parse_blob_hash(text)


@settings(max_examples=50)
@given(data=st.binary(min_size=1, max_size=4096), position=st.integers(min_value=0),
       flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_fails_verification(tmp_path_factory: pytest.TempPathFactory,
                                             data: bytes, position: int, flip: int) -> None:
    path = tmp_path_factory.mktemp("verify") / "blob"
    path.write_bytes(data)
    digest = file_blake3(path)
    verify_file(path, digest)
    changed = bytearray(data)
    changed[position % len(data)] ^= flip
    path.write_bytes(bytes(changed))
    with pytest.raises(BlobMismatchError):
        verify_file(path, digest)


@given(ids=st.sets(blob_hashes, min_size=1, max_size=20), length=st.integers(4, 64),
       pick=st.integers(min_value=0))
def test_an_id_prefix_resolves_only_when_unique(ids: set[str], length: int, pick: int) -> None:
    target = sorted(ids)[pick % len(ids)]
    prefix = target[:length]
    matching = [i for i in ids if i.startswith(prefix)]
    if len(matching) == 1:
        assert resolve_artifact(prefix.upper(), ids) == target
    else:
        with pytest.raises(UnknownArtifactError, match="ambiguous"):
            resolve_artifact(prefix, ids)


@given(st.text(alphabet=string.hexdigits, max_size=3) | st.text(alphabet="xyz-", min_size=4))
def test_short_or_non_hex_prefixes_are_refused(text: str) -> None:
    with pytest.raises(UnknownArtifactError, match="not an artifact id"):
        resolve_artifact(text, ["a" * 64])


members = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:+@=-]{0,20}", fullmatch=True)


@given(labels=st.lists(members, max_size=4), notes=st.none() | st.text(
    st.characters(blacklist_characters="\x00"), min_size=1, max_size=40))
def test_meta_options_parse_into_schema_fields(labels: list[str], notes: str | None) -> None:
    items = [f"labels={label}" for label in labels]
    if notes is not None:
        items.append(f"release_notes={notes}")
    expected = [("labels", label) for label in labels]
    expected += [("release_notes", notes)] if notes is not None else []
    assert parse_meta_options(items) == expected


def test_meta_options_refuse_bad_input() -> None:
    with pytest.raises(UsageError, match="expected FIELD=VALUE"):
        parse_meta_options(["labels"])
    with pytest.raises(UnknownFieldError):
        parse_meta_options(["owner=me"])
    with pytest.raises(InvalidValueError):
        parse_meta_options(["labels=has space"])
    with pytest.raises(UsageError, match="given twice"):
        parse_meta_options(["release_notes=a", "release_notes=b"])


peer_records = st.builds(
    lambda seed, role, contact: PeerRecord(PeerAddr(bytes([seed]) * 32, ("127.0.0.1:1",)),
                                           role, contact),
    st.integers(0, 255), st.sampled_from([None, "admin", "coordinator"]),
    st.none() | st.floats(0, 1e9))


@given(st.lists(peer_records, max_size=8, unique_by=lambda r: r.addr.node_id))
def test_blob_sources_put_live_peers_first(records: list[PeerRecord]) -> None:
    ordered = order_sources(records)
    assert sorted(a.node_id for a in ordered) == sorted(r.addr.node_id for r in records)
    contact = {r.addr.node_id: r.last_contact for r in records}
    times = [contact[a.node_id] for a in ordered]
    known = [t for t in times if t is not None]
    assert times[:len(known)] == known and known == sorted(known, reverse=True)
    assert order_sources(reversed(records)) == ordered


artifact_ids = st.sampled_from([c * 64 for c in "abcdef"])
agent_views = st.builds(
    AgentView, st.sampled_from(["1" * 64, "2" * 64, "3" * 64]),
    st.lists(artifact_ids, max_size=5).map(tuple),
    st.none() | st.fixed_dictionaries({"current": st.none() | artifact_ids,
                                        "previous": st.none() | artifact_ids}))


@given(st.lists(agent_views, max_size=4, unique_by=lambda v: v.agent))
def test_retention_never_collects_what_an_agent_may_need(views: list[AgentView]) -> None:
    stored = [StoredArtifact(c * 64, datetime(2020, 1, 1, tzinfo=UTC)) for c in "abcdef"]
    plan = plan_retention(stored, agent_generations(views), now=datetime(2030, 1, 1, tzinfo=UTC),
                          retention=timedelta(days=30))
    needed: set[str] = set()
    for view in views:
        if view.history:
            needed.add(view.history[-1])
            earlier = [a for a in view.history if a != view.history[-1]]
            needed.update(earlier if view.report is None else earlier[-1:])
        if view.report is not None:
            needed.update(v for v in view.report.values() if v)
    assert set(plan.keep) == needed
    assert set(plan.collect) == {record.artifact_id for record in stored} - needed
    assert all(keep.reason is not KeepReason.RECENT for keeps in plan.keep.values()
               for keep in keeps)
