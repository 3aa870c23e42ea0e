"""`fleetdocs demo`: a complete fleet on this machine, each principal a real process.

2 coordinators, 1 admin and 3 agents, each with its own home and iroh node on loopback: the
fleet is created, coordinators join, agents enroll and are approved, a configuration (a real
Nix closure when nix-build works, a plain directory otherwise) is rolled out, and the live
status view opens. Ctrl-C stops every process the demo started and waits for each to exit.
Agents materialize into roots under the demo directory, never into the real /nix/store.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from fleetdocs.errors import FleetdocsError
from fleetdocs.tui.live import watch_home

COORDINATORS = ("coordinator-1", "coordinator-2")
NIX_CONFIG = "build-users-group =\nsandbox = false\nsubstituters =\nexperimental-features = nix-command"
CONFIGURATION_NIX = r"""
let
  sh = script: [ "-c" script ];
  runtime = derivation {
    name = "demo-runtime"; system = builtins.currentSystem; builder = "/bin/sh";
    args = sh "/bin/mkdir -p $out/share; echo 'hello from the fleet' > $out/share/motd";
  };
in derivation {
  name = "demo-configuration"; system = builtins.currentSystem; builder = "/bin/sh";
  args = sh ''
    /bin/mkdir -p $out/bin
    echo ${runtime} > $out/runtime
    printf '#!/bin/sh\necho "activated $FLEETDOCS_GENERATION"\n' > $out/bin/switch-to-configuration
    /bin/chmod +x $out/bin/switch-to-configuration
  '';
}
"""


class DemoError(FleetdocsError):
    """A step of the demo failed; the message names the step and its output."""


class Demo:
    def __init__(self, root: Path, agents: int, console: Console) -> None:
        self.root = root
        self.agents = [f"agent-{n}" for n in range(1, agents + 1)]
        self.console = console
        self.env = {**os.environ, "FLEETDOCS_BIND_HOST": "127.0.0.1",
                    "FLEETDOCS_SYNC_INTERVAL": os.environ.get("FLEETDOCS_SYNC_INTERVAL", "1")}
        self.env.pop("FLEETDOCS_HOME", None)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def cli(self, home: str, *args: str) -> str:
        command = [sys.executable, "-m", "fleetdocs", "--home", str(self.root / home), *args]
        result = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=120)
        if result.returncode != 0:
            raise DemoError(f"`fleetdocs {' '.join(args[:2])}` on {home} failed: "
                            f"{(result.stderr or result.stdout).strip()}")
        return result.stdout

    def cli_json(self, home: str, *args: str) -> Any:
        return json.loads(self.cli(home, *args, "--json"))

    def start(self, home: str) -> None:
        log = (self.root / f"{home}.log").open("ab")
        self.processes[home] = subprocess.Popen(
            [sys.executable, "-m", "fleetdocs", "--home", str(self.root / home), "run", "-v"],
            stdout=log, stderr=log, env=self.env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while not (self.root / home / "control.sock").exists():
            if self.processes[home].poll() is not None or time.monotonic() > deadline:
                raise DemoError(f"{home} did not start; see {self.root / home}.log")
            time.sleep(0.1)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def step(self, text: str) -> None:
        self.console.print(f"[bold cyan]•[/] {text}")

    def build(self) -> None:
        self.step("creating fleet 'demo' on the admin's home")
        self.cli("admin", "fleet", "create", "demo")
        self.start("admin")
        for name in COORDINATORS:
            key = self.cli_json(name, "key", "show")["id"]
            ticket = self.cli("admin", "invite", "coordinator", "--key", key, "--name", name).strip()
            self.cli(name, "join", ticket)
            self.start(name)
            self.step(f"{name} joined and runs")
        ticket = self.cli("admin", "invite", "agent").strip()
        for name in self.agents:
            self.cli(name, "agent", "enroll", ticket, "--store-root", str(self.root / f"{name}-root"),
                     "--confirm-timeout", "30")
            self.start(name)
        self.step(f"{len(self.agents)} agents filed enrollment requests")
        pending = self._wait(lambda: self.cli_json("admin", "enroll", "list")["requests"],
                             lambda rows: len(rows) >= len(self.agents), "enrollment requests")
        for request in pending:
            self.cli("admin", "enroll", "approve", request["agent"])
        self.step("the admin approved them (audited)")
        artifact = self.artifact()
        agents = [arg for row in pending for arg in ("--agent", row["agent"])]
        self.cli("admin", "assign", artifact, *agents)
        self.step(f"assigned {artifact[:12]}… to every agent; opening the live status view "
                  "(Ctrl-C stops the demo)")

    def artifact(self) -> str:
        path = self.nix_closure()
        if path is None:
            directory = self.root / "configuration"
            (directory / "etc").mkdir(parents=True, exist_ok=True)
            (directory / "etc" / "motd").write_text("hello from the fleet\n")
            path = str(directory)
            self.step("nix-build is not available: rolling out a plain directory artifact")
        else:
            self.step(f"built a real Nix closure {path}")
        return str(self.cli_json("admin", "artifact", "add", path, "--name", "demo-configuration")
                   ["artifact"])

    def nix_closure(self) -> str | None:
        if shutil.which("nix-build") is None:
            return None
        expression = self.root / "configuration.nix"
        expression.write_text(CONFIGURATION_NIX)
        result = subprocess.run(["nix-build", str(expression), "--no-out-link"],
                                capture_output=True, text=True,
                                env={**self.env, "NIX_CONFIG": NIX_CONFIG})
        return result.stdout.strip().splitlines()[-1] if result.returncode == 0 else None

    def _wait(self, read: Any, done: Any, what: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = read()
            if done(value):
                return value
            time.sleep(0.5)
        raise DemoError(f"timed out waiting for {what}")


@contextlib.contextmanager
def demo_directory(requested: Path | None) -> Iterator[Path]:
    if requested is not None:
        requested.mkdir(mode=0o700, parents=True, exist_ok=True)
        yield requested
        return
    with tempfile.TemporaryDirectory(prefix="fleetdocs-demo-") as tmp:
        yield Path(tmp)


def run_demo(directory: Path | None, agents: int, watch: bool, console: Console) -> Path:
    """Build the demo fleet, show it, and always stop every process it started."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # a closed terminal or a kill stops the demo like Ctrl-C

    for signum in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, interrupt)
    with demo_directory(directory) as root:
        demo = Demo(root, agents, console)
        try:
            demo.build()
            if watch:
                watch_home(root / "admin")
        except KeyboardInterrupt:
            pass
        finally:
            # The terminal may be gone (a hang-up): stopping must not depend on printing.
            with contextlib.suppress(OSError):
                console.print("stopping every demo process …")
            demo.stop_all()
            with contextlib.suppress(OSError):
                console.print(f"stopped; homes and logs were in {root}")
        return root
