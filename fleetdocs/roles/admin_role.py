"""The admin daemon: keeps the admin's replicas synced and its view of reports current."""

from __future__ import annotations

from fleetdocs.ledger import Ledger
from fleetdocs.roles.coordinator import import_report_scopes
from fleetdocs.scopes import CONTROL
from fleetdocs.session import Session


class AdminRole:
    watched: tuple[str, ...] = (CONTROL,)  # approvals name the report scopes to import

    def __init__(self, session: Session) -> None:
        self.ledger = Ledger(session)

    async def reconcile(self, session: Session) -> None:
        view = await self.ledger.read()
        await import_report_scopes(session, view.state)
