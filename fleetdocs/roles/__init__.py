"""The three roles' operations; importing this package registers all of them."""

from __future__ import annotations

from fleetdocs.roles import (  # noqa: F401  (each module registers its operations)
    admin,
    artifacts,
    enroll,
    fleet,
    meta,
    rollout,
    status,
)
from fleetdocs.roles.admin_role import AdminRole
from fleetdocs.roles.agent import AgentRole
from fleetdocs.roles.coordinator import CoordinatorRole
from fleetdocs.session import Session


def role_for_session(session: Session) -> AdminRole | CoordinatorRole | AgentRole:
    role = session.role
    if role == "coordinator":
        return CoordinatorRole(session)
    if role == "agent":
        return AgentRole(session)
    return AdminRole(session)
