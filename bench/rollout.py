"""Rollout convergence: assign -> N agents healthy, with real processes and a real closure.

Beside it, in the same run and with the same closure:
* `nix-store --export <closure> | nix-store --store ROOT --import` into N fresh roots,
  one after another (what a push tool's copy costs, without ssh);
* a git-poll loop like comin's at a 1 s interval: N clones of a local bare repo, each
  polling with `git fetch` every second and checking out what it finds; measured from the
  commit to the moment all N have checked it out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.machine import mem_total_kib
from bench.processes import healthy_on, proc_kib, start_fleet
from bench.results import BenchError, Result, percentile, wait_for
from fleetdocs.session import DEFAULT_SYNC_INTERVAL
from tests.fleet.harness import Fleet, fleet_in
from tests.fleet.nix_closures import NIX_CONFIG, build_configuration

ROLLOUT_TIMEOUT = 300.0
# Two sync intervals at the default 15 s: every daemon's periodic work is in the window.
IDLE_WINDOW = 30.0
IDLE_LIMIT = ("per interval: a sync round of each replica with the peers holding it, a heartbeat "
              "per agent, the reconciles these trigger; iroh's own connection upkeep")
POLL_INTERVAL = 1.0
LIMIT = ("gossip, then per agent: closure download, NAR unpack with narHash checks, activation, "
         "health check, the coordinator confirmation and the report reaching the admin; "
         "N+2 daemons share 2 cores")


def run(agent_counts: tuple[int, ...], payload_kib: int = 1024,
        idle_window: float = IDLE_WINDOW, keep: bool = False) -> list[Result]:
    """One rollout per count, smallest first; the first count that does not complete (in
    set-up or in the rollout) ends the run, with a row saying how far it got (so
    `--agents 30,40,50` finds what fits). The directory of a failed count, or of every
    count with `keep` (homes, daemon logs), is kept and named."""
    results: list[Result] = []
    for agents in sorted(agent_counts):
        started = time.perf_counter()
        scratch = Path(tempfile.mkdtemp(prefix="bench-rollout-"))
        try:
            results.extend(_run_one(scratch, agents, payload_kib, idle_window))
        except (BenchError, AssertionError) as exc:  # the fleet harness asserts
            reason = str(exc).splitlines()[0]
            failure = Result("rollout", f"assign -> {agents} agents healthy: did not complete",
                             time.perf_counter() - started, "s", None, None, f"failed: {reason}",
                             {"agents": agents, "payload_kib": payload_kib, "completed": False})
            done = exc.results if isinstance(exc, BenchError) else []
            raise BenchError(f"{agents} agents: {reason} (logs kept in {scratch})",
                             [*results, *done, failure]) from None
        if keep:
            print(f"rollout at {agents} agents: homes and logs kept in {scratch}", flush=True)
        else:
            shutil.rmtree(scratch)
    return results


def _run_one(root: Path, agents: int, payload_kib: int, idle_window: float) -> list[Result]:
    closure = build_configuration(root / "nix", f"bench-{agents}", payload_kib)
    # The operator's default interval, not the tests' 1 s: it is what sets how many idle
    # daemons fit on the machine (measured: ~10 % of a core each at 1 s, under 1 % at 15 s).
    env = {"FLEETDOCS_TEST_ACTIVATIONS": str(root / "activations"),
           "FLEETDOCS_SYNC_INTERVAL": f"{DEFAULT_SYNC_INTERVAL:g}"}
    params = {"agents": agents, "payload_kib": payload_kib}
    with fleet_in(root / "fleet", env=env) as fleet:
        ids = start_fleet(fleet, agents, root / "roots")
        time.sleep(idle_window)  # let enrollment's last syncs settle
        idle = [*_idle_results(idle_cpu(fleet, idle_window), list(ids), params),
                _memory_result(fleet, params)]
        artifact = fleet.json("A", "artifact", "add", closure)["artifact"]
        started = time.perf_counter()
        fleet.run("A", "assign", artifact, *[arg for agent in ids.values()
                                             for arg in ("--agent", agent)])
        first_healthy: dict[str, float] = {}

        def all_healthy() -> bool:
            # Timed as wait_for times the last one: when the admin's status showing it returned.
            healthy = healthy_on(fleet, artifact)
            for agent in healthy - first_healthy.keys():
                first_healthy[agent] = time.perf_counter() - started
            return len(first_healthy) >= agents

        try:
            healthy = wait_for(all_healthy, ROLLOUT_TIMEOUT, f"{agents} agents healthy",
                               interval=0.5)
        except BenchError as exc:
            raise BenchError(f"{exc} ({len(first_healthy)} were)", idle) from None
    rollout = healthy - started
    each = list(first_healthy.values())
    nix_copy = _nix_copy(closure, root / "nix-roots", agents)
    git_poll = _git_poll(root / "git", agents)
    return [
        *idle,
        Result("rollout", f"assign -> {agents} agents healthy", rollout, "s", nix_copy,
               f"nix-store --export | --import into {agents} roots", LIMIT, params),
        Result("rollout", f"assign -> {agents} agents healthy (vs git poll)", rollout, "s",
               git_poll, f"git-poll loop at 1 s, {agents} clones", LIMIT, params),
        Result("rollout", f"assign -> half of {agents} agents healthy", percentile(each, 0.5),
               "s", None, None, LIMIT, params),
        Result("rollout", f"assign -> 90 % of {agents} agents healthy", percentile(each, 0.9),
               "s", None, None, LIMIT, params),
        Result("rollout", f"nix-store --export | --import into {agents} roots", nix_copy, "s",
               None, None, "disk and nix-store's NAR handling, sequential", params),
        Result("rollout", f"git-poll loop at 1 s, {agents} clones", git_poll, "s", None, None,
               "the 1 s poll interval", params),
    ]


def _idle_results(idle: dict[str, float], agent_homes: list[str], params: dict[str, int]
                  ) -> list[Result]:
    agents = len(agent_homes)
    mean = sum(idle[name] for name in agent_homes) / agents
    return [
        Result("rollout", f"idle coordinator CPU, {agents} agents", idle["C1"], "% of a core",
               None, None, IDLE_LIMIT, params),
        Result("rollout", f"idle admin CPU, {agents} agents", idle["A"], "% of a core",
               None, None, IDLE_LIMIT, params),
        Result("rollout", f"idle agent CPU (mean), {agents} agents", mean, "% of a core",
               None, None, IDLE_LIMIT, params),
    ]


def _memory_result(fleet: Fleet, params: dict[str, int]) -> Result:
    """All daemons' memory beside the machine's: what says how many more fit.

    PSS, not RSS: each daemon maps the same ~48 MiB of Python and iroh libraries, which RSS
    would count once per daemon and the machine holds once."""
    used = sum(proc_kib(process.pid, "smaps_rollup")["Pss"] for process in fleet.daemons.values())
    total = mem_total_kib()
    return Result("rollout", f"memory (PSS) of {len(fleet.daemons)} idle daemons, "
                  f"{params['agents']} agents", used / 1024, "MiB",
                  None if total is None else total / 1024, "the machine's memory",
                  "each daemon: Python, automerge, an iroh node with its stores and "
                  "connections", params)


def idle_cpu(fleet: Fleet, seconds: float) -> dict[str, float]:
    """Each daemon's CPU use over `seconds` of an idle fleet, in % of one core."""
    before = {name: _cpu_seconds(process.pid) for name, process in fleet.daemons.items()}
    time.sleep(seconds)
    return {name: 100 * (_cpu_seconds(process.pid) - before[name]) / seconds
            for name, process in fleet.daemons.items()}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _nix_copy(closure: str, roots: Path, agents: int) -> float:
    env = {**os.environ, "NIX_CONFIG": NIX_CONFIG}
    paths = subprocess.run(["nix-store", "--query", "--requisites", closure], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    started = time.perf_counter()
    for number in range(agents):
        exporter = subprocess.Popen(["nix-store", "--export", *paths], stdout=subprocess.PIPE,
                                    env=env)
        subprocess.run(["nix-store", "--store", str(roots / str(number)), "--import"],
                       stdin=exporter.stdout, stdout=subprocess.DEVNULL, env=env, check=True)
        assert exporter.stdout is not None
        exporter.stdout.close()
        exporter.wait()
    return time.perf_counter() - started


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost",
                           *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def _git_poll(root: Path, agents: int) -> float:
    """Commit -> every poller checked the commit out (comin's loop, minus the Nix build)."""
    bare, work = root / "origin.git", root / "admin"
    root.mkdir(parents=True)
    _git("init", "--bare", "-q", str(bare), cwd=root)
    _git("clone", "-q", str(bare), str(work), cwd=root)
    (work / "version").write_text("v0\n")
    _git("add", "version", cwd=work)
    _git("commit", "-qm", "v0", cwd=work)
    _git("push", "-q", "origin", "HEAD", cwd=work)
    clones = [root / f"agent{number}" for number in range(agents)]
    for clone in clones:
        _git("clone", "-q", str(bare), str(clone), cwd=root)
    (work / "version").write_text("v1\n")
    _git("commit", "-qam", "v1", cwd=work)
    target = _git("rev-parse", "HEAD", cwd=work).strip()
    stop = threading.Event()
    pollers = [threading.Thread(target=_poll, args=(clone, stop), daemon=True)
               for clone in clones]
    for poller in pollers:
        poller.start()
    try:
        started = time.perf_counter()
        _git("push", "-q", "origin", "HEAD", cwd=work)
        done = wait_for(lambda: all(_head(clone) == target for clone in clones),
                        ROLLOUT_TIMEOUT, "every git poller to check out the commit", 0.02)
    finally:
        stop.set()
        for poller in pollers:
            poller.join()
    return done - started


def _poll(clone: Path, stop: threading.Event) -> None:
    while not stop.wait(POLL_INTERVAL):
        _git("fetch", "-q", "origin", cwd=clone)
        _git("checkout", "-q", "--detach", "origin/HEAD", cwd=clone)


def _head(clone: Path) -> str:
    return _git("rev-parse", "HEAD", cwd=clone).strip()
