"""Daemon footprint and CLI latency, with real processes.

Resident memory (VmRSS now, VmHWM peak, from /proc) of a coordinator and an agent daemon
after the agent enrolled; then `fleetdocs status --json` and `fleetdocs audit log --json`
timed with the admin's daemon running (the CLI asks it over the control socket) and
without (the CLI opens the home and starts its own iroh node). The baseline of each CLI
figure is `fleetdocs --help`: the cost of starting Python and importing the CLI.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.processes import proc_kib, start_fleet
from bench.results import Result, percentile, time_runs
from tests.fleet.harness import Fleet, fleet_in

CLI_LIMIT = ("Python start and imports (~the --help baseline); without a daemon also the "
             "iroh node start (~0.03 s in a loopback namespace, ~3 s outside) and shutdown")
MEMORY_LIMIT = "the iroh node (Rust heap, redb store) plus the Python interpreter"
COMMANDS = {"status": ("status",), "audit log": ("audit", "log")}


def run(runs: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-daemons-") as scratch, \
            fleet_in(Path(scratch) / "fleet") as fleet:
        start_fleet(fleet, 1, Path(scratch) / "roots")
        results = [*_memory(fleet, "C1", "coordinator"), *_memory(fleet, "X0", "agent")]
        startup = percentile(time_runs(lambda: fleet.run("A", "--help"), runs), 0.5)
        with_daemon = {name: _cli_p50(fleet, args, runs) for name, args in COMMANDS.items()}
        fleet.stop("A")
        without = {name: _cli_p50(fleet, args, runs) for name, args in COMMANDS.items()}
    params = {"runs": runs}
    for name in COMMANDS:
        results += [
            Result("daemons", f"{name} --json with daemon, p50", with_daemon[name], "s",
                   startup, "fleetdocs --help, p50", CLI_LIMIT, params),
            Result("daemons", f"{name} --json without daemon, p50", without[name], "s",
                   startup, "fleetdocs --help, p50", CLI_LIMIT, params),
        ]
    results.append(Result("daemons", "fleetdocs --help, p50", startup, "s", None, None,
                          "Python start and imports", params))
    return results


def _cli_p50(fleet: Fleet, args: tuple[str, ...], runs: int) -> float:
    return percentile(time_runs(lambda: fleet.run("A", *args, "--json"), runs), 0.5)


def _memory(fleet: Fleet, home: str, role: str) -> list[Result]:
    status = proc_kib(fleet.daemons[home].pid)
    params = {"home": home}
    return [Result("daemons", f"{role} daemon {field}", status[field] / 1024, "MiB", None, None,
                   MEMORY_LIMIT, params) for field in ("VmRSS", "VmHWM")]

