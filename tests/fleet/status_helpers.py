"""A fleet for status tests, and a terminal (tmux) to watch it in as a person would.

The fleet is built once per test module because it takes a few seconds of real processes:
admins A and B, coordinator C1, agents X1 and X2 approved and healthy on a directory
artifact, agent X3 waiting for approval, and a metadata conflict made by A and B while
neither could reach the other.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fleet.harness import FLEETDOCS, Fleet, wait_until

# Runs a command in a network namespace of its own: it can reach no other home.
ISOLATED = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "isolated"]
CONVERGE = 60.0
AGENT_NAMES = {"X1": "web-1", "X2": "web-2"}  # as approved; A renames X2 to api-2 in metadata


@dataclass(frozen=True)
class StatusFleet:
    """What the tests need to know about the fleet they look at."""

    fleet: Fleet
    keys: dict[str, str]  # home name -> its public key (agent id for agents)
    v1: str  # the artifact X1 and X2 run
    conflict_entries: dict[str, str]  # admin home -> audit entry of its concurrent meta edit


def status(fleet: Fleet, home: str) -> dict[str, Any]:
    document: dict[str, Any] = fleet.json(home, "status")
    return document


def agents_by_name(fleet: Fleet, home: str) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in status(fleet, home)["agents"]}


def healthy_on(fleet: Fleet, home: str, artifact: str, names: list[str]) -> bool:
    rows = agents_by_name(fleet, home)
    return all(rows.get(n, {}).get("current") == artifact and rows[n]["health"] == "healthy"
               for n in names)


def publish_directory(fleet: Fleet, directory: Path, version: str) -> str:
    """A plain directory artifact (no nix needed), published by admin A."""
    directory.mkdir(parents=True)
    (directory / "index.html").write_text(f"<h1>site {version}</h1>\n")
    added = fleet.json("A", "artifact", "add", str(directory), "--name", f"site-{version}")
    return str(added["artifact"])


def run_isolated(fleet: Fleet, home: str, *args: str) -> Any:
    """A CLI call of a home with no daemon, made where no peer can be reached (offline)."""
    command = [*ISOLATED, *FLEETDOCS, "--home", str(fleet.home(home)), *args, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=fleet.env)
    assert result.returncode == 0, f"{args} on {home}: {result.stdout}{result.stderr}"
    return json.loads(result.stdout)


def build_status_fleet(fleet: Fleet, root: Path) -> StatusFleet:
    fleet.run("A", "fleet", "create", "status-demo")
    fleet.start("A")
    keys = {"A": fleet.key("A")}
    for home, role in (("B", "admin"), ("C1", "coordinator")):
        keys[home] = fleet.key(home)
        named = ("--name", home) if role == "coordinator" else ()
        ticket = fleet.run("A", "invite", role, "--key", keys[home], *named)
        fleet.run(home, "join", ticket.stdout.strip())
        fleet.start(home)

    agent_ticket = fleet.run("A", "invite", "agent").stdout.strip()
    for home in ("X1", "X2", "X3"):
        fleet.run(home, "agent", "enroll", agent_ticket, "--store-root", str(root / f"root-{home}"),
                  "--confirm-timeout", "20")
        keys[home] = fleet.key(home)
        fleet.start(home)
    wait_until(lambda: len(fleet.json("A", "enroll", "list")["requests"]) == 3, CONVERGE,
               "three enrollment requests")
    for home, name in AGENT_NAMES.items():
        fleet.run("A", "enroll", "approve", keys[home], "--name", name)

    v1 = publish_directory(fleet, root / "site-v1", "v1")
    fleet.run("A", "assign", v1, "--agent", keys["X1"], "--agent", keys["X2"])
    fleet.run("A", "tag", "add", f"agent:{keys['X1']}", "frontend")
    fleet.run("A", "meta", "set", f"agent:{keys['X2']}", "name", "api-2")
    wait_until(lambda: healthy_on(fleet, "A", v1, ["web-1", "api-2"]), CONVERGE,
               "X1 and X2 healthy on v1")
    wait_until(lambda: len(status(fleet, "B")["agents"]) == 2, CONVERGE, "B to see both agents")

    # A and B edit the same field while neither can reach anyone: a real concurrent conflict.
    fleet.stop("A")
    fleet.stop("B")
    conflict_entries = {
        home: run_isolated(fleet, home, "meta", "set", f"agent:{keys['X1']}", "owner", owner)
        ["entry"] for home, owner in (("A", "alice"), ("B", "bob"))}
    fleet.start("A")
    fleet.start("B")
    wait_until(lambda: bool(status(fleet, "A")["conflicts"]), CONVERGE,
               "A to see the owner conflict")
    return StatusFleet(fleet, keys, v1, conflict_entries)


def stop_every_daemon(fleet: Fleet) -> None:
    """SIGTERM every daemon at once, then wait for all: a node that can no longer reach its
    peers takes many seconds to shut down, so stopping them one by one adds those up."""
    processes = [fleet.daemons.pop(name) for name in list(fleet.daemons)]
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Terminal:
    """A detached tmux session on a private tmux server, as wide as a real terminal."""

    def __init__(self, env: dict[str, str], width: int = 200, height: int = 50) -> None:
        self.socket = f"fleetdocs-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.size = (str(width), str(height))

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                                text=True, timeout=30, env=self.env, check=True)
        return result.stdout

    def start(self, command: list[str]) -> None:
        # The pane's shell sees only tmux's global environment, so pass ours explicitly.
        passed = [f"{k}={v}" for k, v in self.env.items() if k.startswith(("FLEETDOCS_", "PATH"))]
        line = " ".join(shlex.quote(part) for part in ["env", *passed, *command])
        self._tmux("new-session", "-d", "-s", "status", "-x", self.size[0], "-y", self.size[1],
                   line)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "status")

    def wait_for(self, what: str, predicate: Any, timeout: float = CONVERGE) -> str:
        """Wait until the visible screen satisfies `predicate`; return that screen."""
        shown = [""]

        def check() -> bool:
            shown[0] = self.screen()
            return bool(predicate(shown[0]))

        try:
            wait_until(check, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen showed:\n{shown[0]}") from None
        return shown[0]

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=30)
