"""Turning a fetched artifact into the running generation: materialize, activate, check.

Pure of the network: it is given a fetched artifact (manifest + blob files) and the agent's
settings, runs the operator's commands, and says what happened. The agent (roles/agent.py)
decides when to call it and what to report.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fleetdocs.artifacts.manifest import ClosureManifest, DirManifest, FileManifest, Manifest
from fleetdocs.artifacts.materialize import (
    BlobPath,
    materialize_closure,
    materialize_directory,
    materialize_file,
    store_dir_under,
)
from fleetdocs.artifacts.storepath import store_basename
from fleetdocs.errors import FleetdocsError

DEFAULT_COMMAND_TIMEOUT = 300.0


class ActivationError(FleetdocsError):
    """Activation or the health check failed; the agent rolls back."""


@dataclass(frozen=True)
class AgentSettings:
    """How this device applies a generation (from `agent enroll` options or the environment).

    `activate` and `health_check` are shell-free argument lists in which `{path}` stands for
    the generation's path. With no activation command, a NixOS closure is activated with its
    own `bin/switch-to-configuration switch` when it has one.
    """

    store_root: Path
    artifacts_dir: Path
    activate: str | None
    health_check: str | None
    confirm_timeout: float
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT


def generation_path(manifest: Manifest, artifact: str, settings: AgentSettings) -> Path:
    if isinstance(manifest, ClosureManifest):
        return store_dir_under(settings.store_root) / store_basename(manifest.root)
    return settings.artifacts_dir / artifact


def materialize(manifest: Manifest, artifact: str, blob_path: BlobPath,
                settings: AgentSettings) -> Path:
    """Make the generation's files exist (idempotent: present paths are kept)."""
    path = generation_path(manifest, artifact, settings)
    if isinstance(manifest, ClosureManifest):
        materialize_closure(manifest, blob_path, root=settings.store_root)
    elif not path.exists():
        settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(manifest, DirManifest):
            materialize_directory(manifest, blob_path, path)
        elif isinstance(manifest, FileManifest):
            materialize_file(manifest, blob_path, path)
    return path


def activation_command(path: Path, settings: AgentSettings) -> list[str] | None:
    if settings.activate:
        return _expand(settings.activate, path)
    switch = path / "bin" / "switch-to-configuration"
    if switch.is_file() and os.access(switch, os.X_OK):
        return [str(switch), "switch"]
    return None


def activate(path: Path, settings: AgentSettings) -> None:
    command = activation_command(path, settings)
    if command is not None:
        _run("activation", command, path, settings)


def health_check(path: Path, settings: AgentSettings) -> None:
    if settings.health_check:
        _run("health check", _expand(settings.health_check, path), path, settings)


def _expand(template: str, path: Path) -> list[str]:
    return [part.replace("{path}", str(path)) for part in shlex.split(template)]


def _run(what: str, command: list[str], path: Path, settings: AgentSettings) -> None:
    env = {**os.environ, "FLEETDOCS_GENERATION": str(path)}
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                timeout=settings.command_timeout)
    except FileNotFoundError:
        raise ActivationError(f"{what} command not found: {command[0]}") from None
    except subprocess.TimeoutExpired:
        raise ActivationError(f"{what} timed out after {settings.command_timeout:.0f} s") from None
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        raise ActivationError(f"{what} failed (exit {result.returncode}): {tail[0][:200]}")
