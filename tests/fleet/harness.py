"""Real processes for integration tests: homes, CLI calls, daemons, and network namespaces.

Every process is a real `fleetdocs` process with its own home and iroh node. Tests run inside
the loopback-only namespace that `scripts/dev.py test` creates; `Network` adds hosts with
their own namespaces and links that a test can cut and heal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from fleetdocs.tickets import PREFIX as TICKET_PREFIX

FLEETDOCS = [sys.executable, "-m", "fleetdocs"]


class Fleet:
    """Homes under one temporary directory, CLI invocations and daemon processes."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.env = {**os.environ, "FLEETDOCS_BIND_HOST": "127.0.0.1", "FLEETDOCS_SYNC_INTERVAL": "1",
                    **(env or {})}
        self.daemons: dict[str, subprocess.Popen[bytes]] = {}
        self.netns: dict[str, str] = {}
        self.hosts_env: dict[str, dict[str, str]] = {}

    def home(self, name: str) -> Path:
        return self.root / name

    def _prefix(self, name: str) -> list[str]:
        ns = self.netns.get(name)
        return ["ip", "netns", "exec", ns] if ns else []

    def _env(self, name: str) -> dict[str, str]:
        return {**self.env, **self.hosts_env.get(name, {})}

    def run(self, name: str, *args: str, check: bool = True, timeout: float = 60,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [*self._prefix(name), *FLEETDOCS, "--home", str(self.home(name)), *args]
        shown = " ".join(f"{arg[:len(TICKET_PREFIX)]}…" if arg.startswith(TICKET_PREFIX)
                         else arg for arg in args)  # tickets carry capabilities
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                    env=self._env(name), input=stdin)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{shown} on {name} did not finish within {timeout:g} s:\n"
                                 f"{exc.stderr or ''}") from None
        if check and result.returncode != 0:
            raise AssertionError(f"{shown} on {name} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def json(self, name: str, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.run(name, *args, "--json", **kwargs).stdout)

    def json_lines(self, name: str, *args: str) -> list[Any]:
        out = self.run(name, *args, "--json").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def key(self, name: str) -> str:
        return str(self.json(name, "key", "show")["id"])

    def add_coordinator(self, admin: str, name: str) -> None:
        """Invite `name` as a coordinator from `admin`'s home, join it and start its daemon."""
        ticket = self.run(admin, "invite", "coordinator", "--key", self.key(name), "--name", name)
        self.run(name, "join", ticket.stdout.strip())
        self.start(name)

    def start(self, name: str) -> None:
        assert name not in self.daemons, f"{name} already runs"
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115  (closed with the process)
        cmd = [*self._prefix(name), *FLEETDOCS, "--home", str(self.home(name)), "run", "-v"]
        self.daemons[name] = subprocess.Popen(cmd, stdout=log, stderr=log, env=self._env(name))
        log.close()
        wait_until(lambda: (self.home(name) / "control.sock").exists() or
                   self.daemons[name].poll() is not None, 30, f"{name} daemon to start")
        if self.daemons[name].poll() is not None:
            raise AssertionError(f"{name} daemon exited: {self.log(name)}")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> int:
        process = self.daemons.pop(name)
        process.send_signal(sig)
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"{name} did not stop within 30 s: {self.log(name)}") from None

    def kill(self, name: str) -> None:
        process = self.daemons.pop(name)
        process.kill()
        process.wait()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def close(self) -> None:
        """Stop every daemon at once: one by one, each waits on its vanished peers."""
        for process in self.daemons.values():
            process.send_signal(signal.SIGTERM)
        for name in list(self.daemons):
            with suppress(AssertionError):
                self.stop(name)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def fleet_in(root: Path, **kwargs: Any) -> Iterator[Fleet]:
    fleet = Fleet(root, **kwargs)
    try:
        yield fleet
    finally:
        fleet.close()


class Network:
    """Hosts in their own network namespaces, joined by a bridge; links can be cut and healed.

    Addresses exist only inside these namespaces (see shared/notes/test-networks.md).
    """

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.names: list[str] = []
        self.bridge = self.add_namespace("br")
        _ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.bridge, "link", "set", "br0", "up")
        self.hosts = 0

    def add_namespace(self, name: str) -> str:
        """A namespace with only loopback: a host reachable only through links added to it."""
        ns = f"fd{self.tag}{name}"
        _ip("netns", "add", ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        self.names.append(ns)
        return ns

    def add_host(self, name: str) -> tuple[str, str]:
        """A host on the bridge; returns (namespace, its address)."""
        self.hosts += 1
        ns = self.add_namespace(name)
        here, there = f"h{self.tag}{self.hosts}", f"b{self.tag}{self.hosts}"
        _ip("link", "add", here, "type", "veth", "peer", "name", there)
        _ip("link", "set", here, "netns", ns)
        _ip("link", "set", there, "netns", self.bridge)
        _ip("-n", self.bridge, "link", "set", there, "master", "br0")
        _ip("-n", self.bridge, "link", "set", there, "up")
        address = f"10.77.0.{self.hosts}"
        _ip("-n", ns, "addr", "add", f"{address}/24", "dev", here)
        _ip("-n", ns, "link", "set", here, "up")
        return ns, here

    def add_link(self, ns_a: str, ns_b: str, subnet: int) -> tuple[str, str]:
        """A direct point-to-point link between two hosts (10.78.<subnet>.1 and .2)."""
        a, b = f"p{self.tag}{subnet}a", f"p{self.tag}{subnet}b"
        _ip("link", "add", a, "type", "veth", "peer", "name", b)
        for dev, ns, host in ((a, ns_a, 1), (b, ns_b, 2)):
            _ip("link", "set", dev, "netns", ns)
            _ip("-n", ns, "addr", "add", f"10.78.{subnet}.{host}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        return a, b

    def set_link(self, ns: str, dev: str, up: bool) -> None:
        _ip("-n", ns, "link", "set", dev, "up" if up else "down")

    def limit_rate(self, ns: str, dev: str, mbit: int) -> None:
        """Shape what leaves `dev` to `mbit` Mbit/s (a token bucket, like a slow uplink)."""
        subprocess.run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate",
                        f"{mbit}mbit", "burst", "64kb", "latency", "200ms"],
                       check=True, capture_output=True)

    def close(self) -> None:
        for ns in reversed(self.names):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)
