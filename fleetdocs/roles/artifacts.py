"""Artifacts on the network: publish, list, replicate, fetch and collect them.

The admin stages an artifact (pure, `fleetdocs.artifacts.closure`), adds every staged blob and
the manifest to its iroh blob store, and records `artifact.add` in the audit log: from then on
the artifact id (BLAKE3 of the manifest) is all anyone needs. Coordinators fetch every
artifact they see in the log (`replicate_artifacts`), so agents can fetch from any
coordinator (`fetch_artifact`) even while the admin's laptop is off. Blobs are verified by
iroh while they stream and hashed again when exported for materialization.

Retention (`artifact.gc`) keeps what any agent runs, is assigned or could roll back to, and
anything used within the retention period. An agent's running and previous generation come
from its status report when this home holds Read on its report scope; without it, every
artifact ever assigned to that agent is kept and the agent is named in the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from fleetdocs.artifacts.errors import ArtifactError, IntegrityError
from fleetdocs.artifacts.gc import (
    AgentGenerations,
    RetentionPlan,
    blobs_to_collect,
    plan_retention,
)
from fleetdocs.artifacts.gc import ArtifactRecord as StoredArtifact
from fleetdocs.artifacts.manifest import (
    ClosureManifest,
    DirManifest,
    Manifest,
    artifact_id,
    blobs_of,
    decode_manifest,
)
from fleetdocs.artifacts.materialize import BlobPath, store_dir_under
from fleetdocs.artifacts.progress import ProgressCallback
from fleetdocs.artifacts.storepath import store_basename
from fleetdocs.audit import actions
from fleetdocs.audit.log import AuditLog
from fleetdocs.errors import UsageError
from fleetdocs.home import Home
from fleetdocs.ledger import Ledger
from fleetdocs.meta.errors import NothingToChangeError
from fleetdocs.meta.schema import FieldKind, Target, check_member, check_value, field_kind
from fleetdocs.net.addressbook import PeerRecord
from fleetdocs.net.blobs import BlobError, BlobStore, parse_blob_hash
from fleetdocs.net.tickets import PeerAddr
from fleetdocs.ops import operation
from fleetdocs.reports import read_report
from fleetdocs.roles.meta import meta_set, tag_add
from fleetdocs.scopes import report_scope
from fleetdocs.session import Session
from fleetdocs.state import FleetState

READERS = ("admin", "coordinator")
DEFAULT_RETENTION_DAYS = 30.0
RETENTION_SETTING = "artifact_retention_days"
COLLECTED_SETTING = "artifacts_collected"
PARALLEL_DOWNLOADS = 4
RETRY_AFTER = 30.0
MIN_PREFIX = 4
ARTIFACT_TARGET = Target("artifact", "00")
"""Any artifact target: the metadata schema depends only on the kind."""


class UnknownArtifactError(ArtifactError):
    """No artifact of the fleet has this id (or id prefix), or the prefix is ambiguous."""


def staging_dir(home: Home) -> Path:
    """Where the CLI stages NARs before the `artifact.add` operation adds them as blobs."""
    return home.path / "staging"


def artifact_size(manifest: Manifest) -> int:
    if isinstance(manifest, ClosureManifest):
        return manifest.total_nar_size
    if isinstance(manifest, DirManifest):
        return manifest.nar_size
    return manifest.size


def blob_sizes(manifest: Manifest) -> dict[str, int]:
    """Every blob the artifact needs, with its size (known from the manifest)."""
    if isinstance(manifest, ClosureManifest):
        return {entry.file: entry.nar_size for entry in manifest.paths}
    return {manifest.file: artifact_size(manifest)}


# --- publishing -------------------------------------------------------------------------


def parse_meta_options(items: Iterable[str]) -> list[tuple[str, str]]:
    """Check `field=value` options against the artifact metadata schema before any work.

    Set fields (labels) may repeat; a scalar field (release_notes) may be given once.
    """
    parsed: list[tuple[str, str]] = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--meta {item!r}: expected FIELD=VALUE")
        kind = field_kind(ARTIFACT_TARGET, name)
        if kind is FieldKind.SCALAR:
            if any(name == seen for seen, _ in parsed):
                raise UsageError(f"--meta {name} given twice; it holds one value")
            parsed.append((name, check_value(value)))
        else:
            parsed.append((name, check_member(value)))
    return parsed


async def _record_meta(session: Session, identifier: str, fields: list[tuple[str, str]]
                       ) -> list[dict[str, Any]]:
    """One signed metadata change per field; a value that is already there is skipped."""
    target = f"artifact:{identifier}"
    results = []
    for name, value in fields:
        with contextlib.suppress(NothingToChangeError):
            if field_kind(ARTIFACT_TARGET, name) is FieldKind.SCALAR:
                results.append(await meta_set(session, target=target, field=name, value=value))
            else:
                results.append(await tag_add(session, target=target, tag=value, field=name))
    return results


@operation("artifact.add", writes=True, roles=("admin",))
async def artifact_add(session: Session, manifest: str, blobs: dict[str, str],
                       meta: list[str] | None = None) -> dict[str, Any]:
    """Add a staged artifact's blobs and manifest to this node and record `artifact.add`.

    `manifest` is the canonical manifest text and `blobs` maps each blob hash to the staged
    file holding it (the CLI stages in its own process, with a progress bar). Files inside
    the home's staging directory are removed once iroh holds a copy. `meta` are
    `field=value` items recorded in the fleet metadata once the artifact is in the log.
    """
    fields = parse_meta_options(meta or [])
    manifest_bytes = manifest.encode()
    parsed = decode_manifest(manifest_bytes)
    identifier = artifact_id(manifest_bytes)
    needed = blobs_of(parsed)
    if set(blobs) != needed:
        raise ArtifactError(f"staged files do not match the manifest's {len(needed)} blob(s)")
    store = BlobStore(session.node)
    staging = staging_dir(session.home)
    staging.mkdir(mode=0o700, exist_ok=True)
    manifest_file = staging / f"{identifier}.manifest"
    manifest_file.write_bytes(manifest_bytes)
    staged = [*(Path(path) for path in blobs.values()), manifest_file]
    try:
        for blob, file in sorted(blobs.items()):
            await store.add_file(Path(file), parse_blob_hash(blob))
        await store.add_file(manifest_file, identifier)
    finally:
        for staged_file in staged:
            if staged_file.parent.resolve() == staging.resolve():
                staged_file.unlink(missing_ok=True)
    ledger = Ledger(session)
    known = (await ledger.read()).state.artifacts
    entry = None
    if identifier not in known:
        entry = await ledger.append(actions.ARTIFACT_ADD, {
            "artifact": identifier, "kind": parsed.kind, "name": parsed.name,
            "size": artifact_size(parsed)})
    return {"artifact": identifier, "kind": parsed.kind, "name": parsed.name,
            "size": artifact_size(parsed), "blobs": len(needed),
            "entry": entry.hash if entry else None, "already_known": entry is None,
            "meta": await _record_meta(session, identifier, fields)}


# --- listing ----------------------------------------------------------------------------


async def local_manifest(store: BlobStore, identifier: str) -> Manifest | None:
    """The artifact's manifest if its blob is here (it is verified against the id)."""
    if not await store.has(identifier):
        return None
    return decode_manifest(await store.read(identifier))


async def _describe(store: BlobStore, identifier: str, state: FleetState) -> dict[str, Any]:
    record = state.artifacts[identifier]
    manifest = await local_manifest(store, identifier)
    needed = sorted(blobs_of(manifest)) if manifest else []
    present = [blob for blob in needed if await store.has(blob)]
    local = ("complete" if manifest and len(present) == len(needed) else
             "partial" if manifest else "absent")
    return {"artifact": identifier, "kind": record.kind, "name": record.name,
            "size": record.size, "added_by": record.added_by, "local": local,
            "blobs_present": len(present), "blobs_total": len(needed) if manifest else None,
            "assigned_to": sorted(agent for agent, assignment in state.assignments.items()
                                  if assignment.artifact == identifier)}


@operation("artifact.list", roles=READERS)
async def artifact_list(session: Session) -> list[dict[str, Any]]:
    state = (await Ledger(session).read()).state
    store = BlobStore(session.node)
    return [await _describe(store, identifier, state) for identifier in state.artifacts]


def resolve_artifact(text: str, known: Iterable[str]) -> str:
    """The one known artifact id equal to, or starting with, `text` (at least 4 hex digits)."""
    prefix = text.strip().lower()
    if len(prefix) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in prefix):
        raise UnknownArtifactError(f"{text!r} is not an artifact id or an id prefix of at least "
                                   f"{MIN_PREFIX} hex digits")
    matches = sorted(identifier for identifier in known if identifier.startswith(prefix))
    if not matches:
        raise UnknownArtifactError(f"no artifact of this fleet has an id starting with {prefix}")
    if len(matches) > 1:
        raise UnknownArtifactError(f"{prefix} is ambiguous: {len(matches)} artifacts match")
    return matches[0]


@operation("artifact.show", roles=READERS)
async def artifact_show(session: Session, artifact: str) -> dict[str, Any]:
    state = (await Ledger(session).read()).state
    identifier = resolve_artifact(artifact, state.artifacts)
    store = BlobStore(session.node)
    result = await _describe(store, identifier, state)
    manifest = await local_manifest(store, identifier)
    if isinstance(manifest, ClosureManifest):
        result["root"] = manifest.root
        result["paths"] = [{"path": entry.path, "nar_size": entry.nar_size,
                            "nar_hash": entry.nar_hash, "blob": entry.file,
                            "present": await store.has(entry.file)} for entry in manifest.paths]
    elif manifest is not None:
        result["blob"] = manifest.file
    return result


# --- retention --------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentView:
    """What this home knows about one agent: its assignments in log order and its report."""

    agent: str
    history: tuple[str, ...]
    report: Mapping[str, Any] | None
    """Its status report, or None when this home cannot read its report scope."""


def assignment_history(log: AuditLog) -> dict[str, list[str]]:
    """Per agent, the artifacts valid `assign`/`rollback` entries gave it, in fold order."""
    history: dict[str, list[str]] = {}
    for entry in log.valid_entries():
        if entry.action == actions.ASSIGN:
            for agent in entry.args["agents"]:
                history.setdefault(agent, []).append(entry.args["artifact"])
        elif entry.action == actions.ROLLBACK:
            history.setdefault(entry.args["agent"], []).append(entry.args["artifact"])
    return history


def last_used(log: AuditLog) -> dict[str, datetime]:
    """When each artifact was last added, assigned or rolled back to (entry time)."""
    used: dict[str, int] = {}
    for entry in log.valid_entries():
        if entry.action in (actions.ARTIFACT_ADD, actions.ASSIGN, actions.ROLLBACK):
            artifact = entry.args["artifact"]
            used[artifact] = max(used.get(artifact, 0), entry.time_us)
    return {artifact: datetime.fromtimestamp(us / 1e6, UTC) for artifact, us in used.items()}


def agent_generations(views: Iterable[AgentView]) -> list[AgentGenerations]:
    """Retention inputs: running/previous from reports, assigned and rollback from the log.

    The log's rollback target (the last artifact assigned before the current one) is kept
    even when a report names a previous generation: the two can differ while an agent is
    still applying. An agent whose report is unreadable keeps its whole assignment history.
    """
    generations: list[AgentGenerations] = []
    for view in views:
        assigned = view.history[-1] if view.history else None
        earlier = [artifact for artifact in view.history if artifact != assigned]
        if view.report is None:
            generations.append(AgentGenerations(view.agent, assigned=assigned))
            generations.extend(AgentGenerations(view.agent, previous=artifact)
                               for artifact in dict.fromkeys(earlier))
            continue
        generations.append(AgentGenerations(view.agent, _artifact_or_none(view.report, "current"),
                                            _artifact_or_none(view.report, "previous"), assigned))
        if earlier:
            generations.append(AgentGenerations(view.agent, previous=earlier[-1]))
    return generations


def _artifact_or_none(report: Mapping[str, Any], key: str) -> str | None:
    value = report.get(key)
    return value if isinstance(value, str) and value else None


async def agent_reports(session: Session, agents: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """Each agent's running and previous artifact as it reports them (None: unreadable here)."""
    reports: dict[str, dict[str, Any] | None] = {}
    for agent in agents:
        scope = report_scope(agent)
        if scope not in session.config.scopes:
            reports[agent] = None
            continue
        report = await read_report(session, scope, agent)
        status = report.status or {}
        latest = report.generations[-1] if report.generations else {}
        reports[agent] = {"current": status.get("current"),
                          "previous": status.get("previous", latest.get("previous"))}
    return reports


def retention_days(session: Session, override: float | None) -> float:
    days = float(override if override is not None else
                 session.config.extra.get(RETENTION_SETTING, DEFAULT_RETENTION_DAYS))
    if days < 0:
        raise UsageError("the retention period must not be negative")
    return days


@operation("artifact.gc", writes=False, roles=READERS)
async def artifact_gc(session: Session, dry_run: bool = False,
                      retention: float | None = None) -> dict[str, Any]:
    """Delete the blobs of artifacts nothing needs any more; report what is kept and why."""
    days = retention_days(session, retention)
    view = await Ledger(session).read()
    store = BlobStore(session.node)
    history = assignment_history(view.log)
    reports = await agent_reports(session, sorted(set(view.state.agents) | set(history)))
    views = [AgentView(agent, tuple(history.get(agent, ())), report)
             for agent, report in reports.items()]
    manifests = {identifier: manifest for identifier in view.state.artifacts
                 if (manifest := await local_manifest(store, identifier)) is not None}
    used = last_used(view.log)
    now = datetime.now(UTC)
    plan = plan_retention([StoredArtifact(identifier, used.get(identifier, now))
                           for identifier in manifests], agent_generations(views),
                          now=now, retention=timedelta(days=days))
    doomed = blobs_to_collect(plan, {i: blobs_of(m) for i, m in manifests.items()})
    sizes = {blob: await store.size(blob) for blob in sorted(doomed) if await store.has(blob)}
    if dry_run:
        deleted = []
    else:
        deleted = [blob for blob in sizes if await store.delete(blob)]
        _remember_collected(session, plan.collect)
    freed = sum(sizes[blob] for blob in (sizes if dry_run else deleted))
    return _gc_report(view.state, plan, dry_run, days, len(sizes), len(deleted), freed,
                      sorted(agent for agent, report in reports.items() if report is None))


def _gc_report(state: FleetState, plan: RetentionPlan, dry_run: bool, days: float, blobs: int,
               deleted: int, freed: int, unknown: list[str]) -> dict[str, Any]:
    def name(identifier: str) -> str | None:
        record = state.artifacts.get(identifier)
        return record.name if record else None

    return {
        "dry_run": dry_run,
        "retention_days": days,
        "kept": [{"artifact": i, "name": name(i), "reasons": [str(k) for k in keeps]}
                 for i, keeps in plan.keep.items()],
        "collected": [{"artifact": i, "name": name(i)} for i in plan.collect],
        "missing": list(plan.missing),
        "blobs_collectable": blobs,
        "blobs_deleted": deleted,
        "bytes": freed,
        "agents_without_report": unknown,
    }


def _remember_collected(session: Session, collected: Sequence[str]) -> None:
    """So that replication does not fetch again what this home just collected."""
    if not collected:
        return
    known = set(session.config.extra.get(COLLECTED_SETTING, []))
    session.config.extra[COLLECTED_SETTING] = sorted(known | set(collected))
    session.save_config()


# --- moving blobs between peers ---------------------------------------------------------


def order_sources(records: Iterable[PeerRecord]) -> list[PeerAddr]:
    """Peers to ask for blobs: recently contacted first (dead peers cost a stall timeout),
    coordinators before others at equal recency, never-contacted peers last."""
    ranked = sorted(records, key=lambda r: (r.last_contact is None, -(r.last_contact or 0.0),
                                             r.role != "coordinator", r.addr.node_id))
    return [record.addr for record in ranked]


def blob_sources(session: Session) -> list[PeerAddr]:
    return order_sources(session.book.peers.values())


class _Transfer:
    """Downloads a set of blobs with bounded concurrency, reporting their summed progress."""

    def __init__(self, store: BlobStore, peers: list[PeerAddr], sizes: Mapping[str, int],
                 progress: ProgressCallback | None) -> None:
        self.store = store
        self.peers = peers
        self.total = sum(sizes.values())
        self.done: dict[str, int] = {}
        self.progress = progress
        self.limit = asyncio.Semaphore(PARALLEL_DOWNLOADS)

    async def fetch_all(self, blobs: Iterable[str]) -> None:
        await asyncio.gather(*(self._fetch(blob) for blob in blobs))

    async def _fetch(self, blob: str) -> None:
        def report(done: int, _total: int) -> None:
            self.done[blob] = done
            if self.progress is not None:
                self.progress(sum(self.done.values()), self.total)

        async with self.limit:
            await self.store.download(blob, self.peers, progress=report)


@dataclass
class _Replication:
    """Per session: artifacts known complete here, and when a failed one may be retried."""

    complete: set[str] = field(default_factory=set)
    retry_at: dict[str, float] = field(default_factory=dict)


_REPLICATION: WeakKeyDictionary[Session, _Replication] = WeakKeyDictionary()


def artifacts_to_replicate(session: Session, state: FleetState) -> list[str]:
    """Every artifact of the fleet, except those this home collected and nobody is assigned."""
    collected = set(session.config.extra.get(COLLECTED_SETTING, []))
    assigned = {assignment.artifact for assignment in state.assignments.values()}
    return [i for i in state.artifacts if i not in collected or i in assigned]


async def replicate_artifacts(session: Session, state: FleetState, *, retry_now: bool = False
                              ) -> dict[str, str]:
    """Fetch the manifest and blobs of every artifact in `state` this home lacks.

    Called from the coordinator's reconcile loop. A failed artifact is retried after
    RETRY_AFTER seconds (unless `retry_now`), not on every round, so a missing blob cannot
    stall reconciliation. Returns each artifact's outcome: complete, waiting or the error.
    """
    memory = _REPLICATION.setdefault(session, _Replication())
    store = BlobStore(session.node)
    peers = blob_sources(session)
    now = time.monotonic()
    outcome: dict[str, str] = {}
    for identifier in artifacts_to_replicate(session, state):
        if identifier in memory.complete:
            outcome[identifier] = "complete"
            continue
        if not retry_now and memory.retry_at.get(identifier, 0.0) > now:
            outcome[identifier] = "waiting to retry"
            continue
        try:
            manifest = await _fetch_manifest(store, identifier, peers)
            await _Transfer(store, peers, blob_sizes(manifest), None).fetch_all(blobs_of(manifest))
        except (BlobError, ArtifactError) as exc:
            memory.retry_at[identifier] = time.monotonic() + RETRY_AFTER
            outcome[identifier] = f"failed: {exc}"
            continue
        memory.complete.add(identifier)
        memory.retry_at.pop(identifier, None)
        outcome[identifier] = "complete"
    return outcome


@operation("artifact.replicate", roles=READERS)
async def artifact_replicate(session: Session) -> dict[str, str]:
    """Fetch every artifact this home lacks now (coordinators also do it on their own)."""
    await session.sync_all()
    state = (await Ledger(session).read()).state
    return await replicate_artifacts(session, state, retry_now=True)


async def _fetch_manifest(store: BlobStore, identifier: str, peers: list[PeerAddr]) -> Manifest:
    await store.download(identifier, peers)
    data = await store.read(identifier)
    if artifact_id(data) != identifier:
        raise IntegrityError(f"manifest of {identifier[:16]}… does not match its id")
    return decode_manifest(data)


class FetchedArtifact(NamedTuple):
    """A fetched artifact's manifest and where each blob it needs now is on disk."""

    manifest: Manifest
    blob_path: BlobPath


async def fetch_artifact(session: Session, identifier: str, dest_blob_dir: Path | None = None,
                         progress: ProgressCallback | None = None, root: Path | None = None
                         ) -> FetchedArtifact:
    """Fetch an artifact from any peer that has it, for materialization on this device.

    With `root` (a store root, as for `materialize_closure`), closure paths already present
    there are not fetched. Each needed blob is exported, BLAKE3-verified, to
    `dest_blob_dir/<hash>` (default: the home's `blobs` directory); the caller may delete
    those files after materializing.
    """
    parse_blob_hash(identifier)
    store = BlobStore(session.node)
    peers = blob_sources(session)
    manifest = await _fetch_manifest(store, identifier, peers)
    sizes = blob_sizes(manifest)
    if root is not None and isinstance(manifest, ClosureManifest):
        store_dir = store_dir_under(root)
        sizes = {entry.file: entry.nar_size for entry in manifest.paths
                 if not (store_dir / store_basename(entry.path)).exists()}
    await _Transfer(store, peers, sizes, progress).fetch_all(sizes)
    directory = dest_blob_dir or session.home.path / "blobs"
    paths = {blob: await store.export(blob, directory / blob) for blob in sorted(sizes)}

    def blob_path(blob: str) -> Path:
        try:
            return paths[blob]
        except KeyError:
            raise ArtifactError(f"blob {blob[:16]}… of {identifier[:16]}… was not fetched") \
                from None

    return FetchedArtifact(manifest, blob_path)
