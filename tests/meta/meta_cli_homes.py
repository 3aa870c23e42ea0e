"""Real `fleetdocs` processes for the metadata CLI tests: one home each, CLI calls and daemons.

Every call is a separate process with its own iroh node, as an operator would run it. A home
works offline when its daemon runs in a network namespace of its own (``isolated``): it can
reach no other home and none can reach it. Homes meet when their daemons run in the test's own
loopback-only namespace (`scripts/dev.py test` provides it; creating namespaces needs root).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ISOLATED = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "isolated"]
CLI = [sys.executable, "-c", "from fleetdocs.cli.main import run; run()"]
CALL_TIMEOUT = 60.0
DAEMON_START_TIMEOUT = 30.0
CONVERGE_TIMEOUT = 30.0
SYNC_TIMEOUT = 3


class CliFailed(AssertionError):
    """A CLI call exited non-zero; carries its exit code and stderr for the test to inspect."""

    def __init__(self, args: tuple[str, ...], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(f"fleetdocs {' '.join(args)} failed ({result.returncode}): "
                         f"{result.stdout}{result.stderr}")
        self.returncode = result.returncode
        self.stderr = result.stderr


class Homes:
    """Homes under one directory, named by the test (A, B, C...), and their daemons."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "FLEETDOCS_BIND_HOST": "127.0.0.1",
                    "FLEETDOCS_SYNC_INTERVAL": "1"}
        self.daemons: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping: dict[str, subprocess.Popen[bytes]] = {}

    def path(self, name: str) -> Path:
        return self.root / name

    def run(self, name: str, *args: str) -> str:
        """Run one command against home ``name``; return its stdout, raise CliFailed on error."""
        self._settle(name)
        result = subprocess.run([*CLI, "--home", str(self.path(name)), *args], capture_output=True,
                                text=True, timeout=CALL_TIMEOUT, env=self.env)
        if result.returncode != 0:
            raise CliFailed(args, result)
        return result.stdout

    def json(self, name: str, *args: str) -> Any:
        return json.loads(self.run(name, *args, "--json"))

    def key(self, name: str) -> str:
        return str(self.json(name, "key", "show")["id"])

    def start(self, name: str, *, isolated: bool = False) -> None:
        """Start `fleetdocs run` for the home and wait until its control socket exists.

        ``isolated`` runs the daemon in a network namespace of its own, where no other home
        can reach it: several homes can then work offline at the same time. The CLI still
        reaches it through the control socket, which is a file.
        """
        self._settle(name)
        command = [*CLI, "--home", str(self.path(name)), "run"]
        if isolated:
            command = [*ISOLATED, *command]
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115  (the process owns it)
        self.daemons[name] = subprocess.Popen(command, stdout=log, stderr=log, env=self.env)
        log.close()
        socket = self.path(name) / "control.sock"
        wait_until(lambda: socket.exists() or self.daemons[name].poll() is not None,
                   DAEMON_START_TIMEOUT, f"the daemon of {name} to start")
        if self.daemons[name].poll() is not None:
            raise AssertionError(f"the daemon of {name} exited: {self.log(name)}")

    def stop(self, *names: str) -> None:
        """Ask daemons to stop; they finish shutting down while the test goes on.

        A daemon that knows unreachable peers takes seconds to shut its node down, so the
        test waits for it only before that home is used again (``_settle``).
        """
        for name in names:
            process = self.daemons.pop(name)
            process.send_signal(signal.SIGTERM)
            self.stopping[name] = process

    def _settle(self, name: str) -> None:
        process = self.stopping.pop(name, None)
        if process is None:
            return
        try:
            process.wait(CALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"{name}'s daemon ignored SIGTERM: {self.log(name)}") from None

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def close(self) -> None:
        """Stop every daemon still running (also when a test failed half-way)."""
        self.stop(*self.daemons)
        for name in list(self.stopping):
            with contextlib.suppress(AssertionError):
                self._settle(name)

    def holds(self, name: str, entries: set[str]) -> bool:
        """Whether the home's audit log holds every one of ``entries`` (by hash)."""
        lines = self.run(name, "audit", "log", "--json").splitlines()
        return entries <= {json.loads(line)["hash"] for line in lines}

    def wait_for(self, names: Iterable[str], entries: set[str]) -> None:
        """Wait until every home of ``names`` (running daemons, which sync by themselves)
        holds ``entries``."""
        for name in names:
            wait_until(lambda name=name: self.holds(name, entries), CONVERGE_TIMEOUT,
                       f"{name} to receive {len(entries)} entries")

    def meet(self, name: str, done: Callable[[], bool]) -> None:
        """Sync home ``name`` with whichever peers run now until ``done()`` holds.

        One sync round can finish before the entries' content has arrived (iroh fetches it
        separately), so the round is repeated until the expected state is there.
        """
        wait_until(lambda: bool(self.run(name, "sync", "--timeout", str(SYNC_TIMEOUT)))
                   and done(), CONVERGE_TIMEOUT, f"{name} to meet its peers")


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.1)
