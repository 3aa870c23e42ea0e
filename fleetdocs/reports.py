"""Reading agents' report scopes: only the agent's own entries count.

A report namespace is writable only by its agent (it created it), so the capability already
keeps coordinators and admins out; the author check here is the second layer that makes a
leaked secret or a confused replica harmless: an entry by anyone else is ignored and listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetdocs.canonical import decode_json
from fleetdocs.scopes import REPORT, author_may_write, parse_key
from fleetdocs.session import Session


@dataclass
class AgentReport:
    status: dict[str, Any] | None = None
    heartbeat: float | None = None
    generations: list[dict[str, Any]] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


async def read_report(session: Session, scope: str, agent: str) -> AgentReport:
    report = AgentReport()
    if scope not in session.config.scopes:
        return report
    replica = await session.scope(scope)
    for stored in await replica.entries():
        parts = parse_key(stored.key)
        if stored.author_hex != agent or not author_may_write(REPORT, parts, agent).accepted:
            report.ignored.append(f"entry by {stored.author_hex[:12]}… in {agent[:12]}…'s report")
            continue
        assert parts is not None
        try:
            value = decode_json(stored.value)
        except ValueError:
            report.ignored.append(f"malformed {parts[0]} entry")
            continue
        if parts[0] == "status" and isinstance(value, dict):
            report.status = value
        elif parts[0] == "heartbeat" and isinstance(value, dict):
            report.heartbeat = float(value.get("time", 0))
        elif parts[0] == "generation" and isinstance(value, dict):
            report.generations.append(value)
        elif parts[0] == "facts" and isinstance(value, dict):
            report.facts.append(value)
    report.generations.sort(key=lambda g: int(g.get("seq", 0)))
    report.facts.sort(key=lambda f: float(f.get("time", 0)))
    return report
