"""Render the status document (fleetdocs.status) as rich tables: model in, renderable out."""

from __future__ import annotations

import datetime
import re
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

FULL_ID = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{52}\b")
HEALTH_STYLE = {"healthy": "green", "unhealthy": "bold red", "updating": "yellow",
                "healthy (behind)": "yellow", "unknown": "dim"}


def render_status(status: dict[str, Any]) -> RenderableType:
    fleet = status["fleet"]
    parts: list[RenderableType] = [_agents(status["agents"])]
    if status["rollouts"]:
        parts.append(_rollouts(status["rollouts"]))
    if status["enrollments"]:
        parts.append(_enrollments(status["enrollments"]))
    if status["conflicts"]:
        parts.append(_conflicts(status["conflicts"]))
    parts.append(_audit(status["audit"]))
    parts.append(_principals(status["principals"]))
    title = f"fleet [bold]{fleet['name']}[/] {fleet['id'][:16]}…  {_when(status['generated_at'])}"
    return Panel(Group(*parts), title=title, title_align="left")


def _agents(agents: list[dict[str, Any]]) -> Table:
    table = Table("agent", "id", "online", "current", "desired", "phase", "health", "last error",
                  title="agents", title_justify="left", expand=True)
    for agent in agents:
        online = Text("online" if agent["online"] else "offline",
                      style="green" if agent["online"] else "red")
        if agent["age_s"] is not None:
            online.append(f" {agent['age_s']:.0f}s", style="dim")
        table.add_row(agent["name"] or "-", agent["id"][:12], online, _short(agent["current"]),
                      _short(agent["desired"]), agent["phase"],
                      Text(agent["health"], style=HEALTH_STYLE.get(agent["health"], "")),
                      Text(agent["last_error"] or "", style="red", overflow="fold"))
    if not agents:
        table.add_row("(no approved agents)", "", "", "", "", "", "", "")
    return table


def _rollouts(rollouts: list[dict[str, Any]]) -> Table:
    table = Table("artifact", "selector", "healthy", "failed", "when", title="rollouts",
                  title_justify="left", expand=True)
    for rollout in rollouts:
        name = rollout["artifact_name"] or _short(rollout["artifact"])
        table.add_row(name, _short_ids(rollout["selector"] or ""),
                      f"{rollout['healthy']}/{rollout['agents']}",
                      str(rollout["failed"]), _when(rollout["time_us"] / 1e6))
    return table


def _enrollments(requests: list[dict[str, Any]]) -> Table:
    table = Table("pending agent", "hostname", "os", "requested", title="enrollment requests",
                  title_justify="left", expand=True)
    for request in requests:
        facts = request["facts"]
        table.add_row(request["agent"][:16], str(facts.get("hostname")), str(facts.get("os")),
                      _when(request["time_us"] / 1e6))
    return table


def _conflicts(conflicts: list[dict[str, Any]]) -> Table:
    table = Table("target", "field", "values (first wins)", title="metadata conflicts",
                  title_justify="left", expand=True)
    for conflict in conflicts:
        values = ", ".join(f"{v['value']!r} by {v['author'][:8]}" for v in conflict["values"])
        table.add_row(conflict["target"][:24], conflict["field"], values)
    return table


def _audit(audit: dict[str, Any]) -> Text:
    if audit["ok"]:
        return Text(f"audit log verified: {audit['entries']} entries, {audit['pending']} pending",
                    style="green")
    text = Text(f"AUDIT LOG NOT VERIFIED: {audit['invalid']} invalid, "
                f"{len(audit['problems'])} problems", style="bold red")
    for problem in audit["problems"][:5]:
        text.append(f"\n  {problem['kind']}: {problem['message']}", style="red")
    return text


def _principals(principals: list[dict[str, Any]]) -> Table:
    table = Table("role", "id", "name", "last sync", title="admins and coordinators",
                  title_justify="left", expand=True)
    for row in principals:
        seen = "this home or never" if row["age_s"] is None else f"{row['age_s']:.0f}s ago"
        table.add_row(row["role"], row["id"][:12], row["name"] or "", seen)
    return table


def _short_ids(selector: str) -> str:
    """`agent:<64 hex> agent:<64 hex>` as `agent:<12 hex>… agent:<12 hex>…`.

    An assignment's selector names every agent by full id; in full, three of them fill the
    rollout table's width and push the progress columns out of a terminal.
    """
    return FULL_ID.sub(r"\1…", selector)


def _short(value: str | None) -> str:
    return value[:12] if value else "-"


def _when(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp).isoformat(timespec="seconds")
