"""Facts an agent reports about its device: read from the system, never from the network."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any


def collect_facts(store_root: Path = Path("/")) -> dict[str, Any]:
    """Hostname, OS, architecture, kernel, NixOS/nix version, machine id, CPU/memory/disk."""
    uname = platform.uname()
    existing = next(p for p in (store_root, *store_root.parents) if p.exists())
    disk = shutil.disk_usage(existing)
    return {
        "hostname": socket.gethostname(),
        "os": _os_release().get("PRETTY_NAME", uname.system),
        "os_id": _os_release().get("ID", uname.system.lower()),
        "architecture": uname.machine,
        "kernel": uname.release,
        "nixos_version": _read_text(Path("/run/current-system/nixos-version")),
        "nix_version": _nix_version(),
        "machine_id": _read_text(Path("/etc/machine-id")),
        "cpus": os.cpu_count() or 0,
        "memory_bytes": _memory_bytes(),
        "disk_total_bytes": disk.total,
        "disk_free_bytes": disk.free,
    }


def _os_release() -> dict[str, str]:
    values: dict[str, str] = {}
    text = _read_text(Path("/etc/os-release")) or ""
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name] = value.strip().strip('"')
    return values


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _nix_version() -> str | None:
    nix = shutil.which("nix-store")
    if nix is None:
        return None
    try:
        out = subprocess.run([nix, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().rpartition(" ")[2] or None


def _memory_bytes() -> int:
    for line in (_read_text(Path("/proc/meminfo")) or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0
