"""Enrollment from both sides: the agent files a signed request, an admin decides.

The enroll namespace is writable by every ticket holder, so requests are bounded: at most
MAX_PENDING undecided requests are considered (oldest first by their signed time), each at
most MAX_REQUEST_BYTES, and one per agent key (the request key names its author).
"""

from __future__ import annotations

from typing import Any

from fleetdocs.audit import actions
from fleetdocs.enrollment import (
    EnrollmentError,
    EnrollmentRequest,
    enrollment_box,
    request_hash,
    sign_request,
)
from fleetdocs.errors import UsageError
from fleetdocs.facts import collect_facts
from fleetdocs.identity import parse_public_hex
from fleetdocs.ledger import Ledger, now_us
from fleetdocs.net.tickets import namespace_id_of
from fleetdocs.ops import operation
from fleetdocs.roles.admin import entry_json
from fleetdocs.roles.coordinator import import_report_scopes
from fleetdocs.roles.fleet import admit_ticket
from fleetdocs.scopes import (
    ENROLL,
    REPORT,
    author_may_write,
    desired_secret,
    parse_key,
    request_key,
)
from fleetdocs.session import Session
from fleetdocs.state import FleetState

MAX_PENDING = 1000
ENROLL_SYNC_TIMEOUT = 5.0


async def read_requests(session: Session) -> tuple[dict[str, EnrollmentRequest], list[str]]:
    """Verified and opened requests by agent id, and one line per entry that was refused."""
    box = enrollment_box(bytes.fromhex(session.config.extra["fleet_secret"]))
    enroll = await session.scope(ENROLL)
    fleet = session.config.fleet or ""
    requests: dict[str, EnrollmentRequest] = {}
    refused: list[str] = []
    for stored in await enroll.entries(b"request/"):
        verdict = author_may_write(ENROLL, parse_key(stored.key), stored.author_hex)
        if not verdict.accepted:
            refused.append(verdict.reason)
            continue
        try:
            request = EnrollmentRequest.open(stored.value, fleet, box)
        except EnrollmentError as exc:
            refused.append(f"{stored.author_hex[:12]}…: {exc}")
            continue
        if request.agent != stored.author_hex:
            refused.append(f"request for {request.agent[:12]}… written by {stored.author_hex[:12]}…")
            continue
        requests[request.agent] = request
    return requests, refused


@operation("enroll.list", roles=("admin", "coordinator"))
async def enroll_list(session: Session, all_requests: bool = False) -> dict[str, Any]:
    return await enrollment_rows(session, (await Ledger(session).read()).state, all_requests)


async def enrollment_rows(session: Session, state: FleetState, all_requests: bool = False
                          ) -> dict[str, Any]:
    """Enrollment requests with their status in `state` (pending only, unless all)."""
    requests, refused = await read_requests(session)
    rows = []
    for request in sorted(requests.values(), key=lambda r: (r.time_us, r.agent)):
        record = state.agents.get(request.agent)
        status = str(record.status) if record else "pending"
        if status == "pending" or all_requests:
            rows.append({"agent": request.agent, "status": status, "time_us": request.time_us,
                         "request": request.request_hash, "facts": request.facts})
    pending = [r for r in rows if r["status"] == "pending"]
    return {"requests": rows[:MAX_PENDING] if not all_requests else rows,
            "pending": min(len(pending), MAX_PENDING), "refused": refused}


async def _find_request(session: Session, agent: str) -> EnrollmentRequest:
    requests, _ = await read_requests(session)
    matches = [a for a in requests if a.startswith(agent.lower())] if len(agent) < 64 else \
        [a for a in requests if a == parse_public_hex(agent).hex()]
    if len(matches) != 1:
        raise UsageError(f"no single enrollment request matches {agent!r} "
                         f"({len(matches)} found); see `fleetdocs enroll list`")
    return requests[matches[0]]


@operation("enroll.approve", writes=True, roles=("admin",))
async def enroll_approve(session: Session, agent: str, name: str | None = None) -> dict[str, Any]:
    request = await _find_request(session, agent)
    ledger = Ledger(session)
    label = name or str(request.facts.get("hostname") or request.agent[:12])[:256]
    # The approval names the agent's desired-state namespace, so the agent can check that
    # the grant a coordinator hands it is the one an admin decided (roles/agent.py).
    fleet_secret = bytes.fromhex(session.config.extra["fleet_secret"])
    desired = namespace_id_of(desired_secret(fleet_secret, bytes.fromhex(request.agent)))
    entry = await ledger.append(actions.ENROLL_APPROVE, {
        "agent": request.agent, "request": request.request_hash,
        "report_ns": request.report_ns,
        "desired_ns": desired.hex(), "name": label})
    await import_report_scopes(session, (await ledger.read()).state)
    return entry_json(entry)


@operation("enroll.reject", writes=True, roles=("admin",))
async def enroll_reject(session: Session, agent: str) -> dict[str, Any]:
    request = await _find_request(session, agent)
    entry = await Ledger(session).append(
        actions.ENROLL_REJECT, {"agent": request.agent, "request": request.request_hash})
    return entry_json(entry)


@operation("agent.enroll", writes=True)
async def agent_enroll(session: Session, ticket: str, settings: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
    """File this device's signed enrollment request with the fleet of `ticket`.

    `settings` (store_root, activate, health_check, confirm_timeout) say how this device
    applies generations; the environment can override them (fleetdocs.roles.agent).
    """
    parsed = admit_ticket(session.config, ticket, agent=True)
    try:
        enroll_box = bytes.fromhex(str(parsed.extra["enroll_box"]))
    except (KeyError, ValueError):
        raise UsageError("this agent ticket carries no enrollment key: ask an admin for a new "
                         "one (`fleetdocs invite agent`)") from None
    session.config.extra["agent"] = {"settings": {k: v for k, v in (settings or {}).items()
                                                  if v is not None}}
    await session.learn_peers(list(parsed.peers))
    config = session.config
    config.role, config.fleet, config.fleet_name = "agent", parsed.fleet, parsed.fleet_name
    await session.adopt_scope(ENROLL, parsed.capabilities[ENROLL])
    report = await session.node.create_namespace()
    config.scopes[REPORT] = report.id_hex
    session.save_config()
    request = sign_request(session.identity, parsed.fleet, report.id_hex, collect_facts(),
                           now_us(), enroll_box)
    enroll = await session.scope(ENROLL)
    await enroll.put(request_key(session.identity.public_hex), request)
    await session.publish_address()
    synced = await session.sync_and_wait(ENROLL_SYNC_TIMEOUT)
    return {"agent": session.identity.public_hex, "fleet": parsed.fleet,
            "request": request_hash(request), "synced_with": sorted(synced)}
