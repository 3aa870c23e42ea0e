"""The `status` operation, and `status.watch`, its long-poll form for `status --watch`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fleetdocs.ledger import Ledger
from fleetdocs.ops import operation
from fleetdocs.reports import read_report
from fleetdocs.roles.admin import verification_report
from fleetdocs.roles.enroll import enrollment_rows
from fleetdocs.roles.meta import meta_store
from fleetdocs.scopes import report_scope
from fleetdocs.session import Session, sync_interval
from fleetdocs.state import AgentStatus
from fleetdocs.status import audit_summary, fleet_status

WATCH_TIMEOUT = 30.0


@operation("status", roles=("admin", "coordinator"))
async def status(session: Session) -> dict[str, Any]:
    view = await Ledger(session).read()
    reports = {agent: await read_report(session, report_scope(agent), agent)
               for agent, record in view.state.agents.items()
               if record.status == AgentStatus.APPROVED}
    pending = (await enrollment_rows(session, view.state))["requests"]
    audit = audit_summary(verification_report(view))
    return fleet_status(view, reports, meta_store(session, view), session.book,
                        audit, now=time.time(), interval=sync_interval(),
                        pending_requests=pending, last_sync=session.last_sync)


@operation("status.watch", roles=("admin", "coordinator"))
async def status_watch(session: Session, since: int = 0) -> dict[str, Any]:
    """Wait until a replica changed after `since` (a change counter), then return status.

    Lets `status --watch` redraw on events instead of polling: it sends its last counter and
    the daemon answers when something happened (or after WATCH_TIMEOUT, to refresh ages).
    """
    deadline = time.monotonic() + WATCH_TIMEOUT
    while session.changes <= since and time.monotonic() < deadline:
        async with session.changed:
            try:
                await asyncio.wait_for(session.changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
    return {"changes": session.changes, "status": await status(session)}
