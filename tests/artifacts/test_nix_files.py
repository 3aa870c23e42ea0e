"""nix/: every file parses, and the NixOS modules evaluate against a stub module system."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from artifact_helpers import requires_nix

pytestmark = requires_nix
REPOSITORY = Path(__file__).resolve().parents[2]
STUB = Path(__file__).resolve().parent / "nix" / "stub.nix"
MODULES = REPOSITORY / "nix" / "modules"
NIX_FILES = [*sorted((REPOSITORY / "nix").rglob("*.nix")), STUB]


def evaluate(expression: str) -> Any:
    result = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", "--expr", expression],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ValueError(result.stderr)
    return json.loads(result.stdout)


def evaluate_module(role: str, settings: str) -> Any:
    return evaluate(
        f"(import {STUB}).evalModule (import {MODULES / role}.nix) "
        f"{{ services.fleetdocs.{role} = {settings}; }}"
    )


@pytest.mark.parametrize("path", NIX_FILES, ids=lambda path: path.name)
def test_parses(path: Path) -> None:
    subprocess.run(["nix-instantiate", "--parse", str(path)], capture_output=True, check=True)


def test_agent_unit_runs_as_root_with_activation_settings() -> None:
    config = evaluate_module(
        "agent",
        '{ enable = true; keyFile = "/run/keys/agent"; extraArgs = [ "--verbose" ]; '
        'healthCheckCommand = "true"; }',
    )
    unit = config["systemd"]["services"]["fleetdocs-agent"]
    service = unit["serviceConfig"]
    assert service["ExecStart"].endswith("'--home' '/var/lib/fleetdocs-agent' 'run' '--verbose'")
    assert "DynamicUser" not in service
    assert "PrivateTmp" not in service
    assert service["LoadCredential"] == ["key:/run/keys/agent"]
    assert unit["environment"]["FLEETDOCS_KEY_FILE"] == "%d/key"
    assert unit["environment"]["FLEETDOCS_HEALTH_CHECK_COMMAND"] == "true"
    assert unit["environment"]["FLEETDOCS_ACTIVATION_COMMAND"].startswith("bin/switch")
    assert unit["restartIfChanged"] is False


def test_coordinator_unit_is_unprivileged_and_sandboxed() -> None:
    config = evaluate_module("coordinator", '{ enable = true; stateDirectory = "fd"; }')
    unit = config["systemd"]["services"]["fleetdocs-coordinator"]
    service = unit["serviceConfig"]
    assert service["DynamicUser"] is True
    assert service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""
    assert service["StateDirectory"] == "fd"
    assert "'/var/lib/fd'" in service["ExecStart"]
    assert service["LoadCredential"] == []
    assert "FLEETDOCS_KEY_FILE" not in unit["environment"]


def test_disabled_modules_configure_nothing() -> None:
    assert evaluate_module("agent", "{ }") == {}
    assert evaluate_module("coordinator", "{ enable = false; }") == {}


def test_both_roles_share_the_common_options() -> None:
    def names(role: str) -> set[str]:
        return set(evaluate(f'(import {STUB}).optionNames (import {MODULES / role}.nix) "{role}"'))

    common = {"enable", "package", "stateDirectory", "keyFile", "extraArgs"}
    assert names("coordinator") == common
    assert names("agent") == common | {"activationCommand", "healthCheckCommand"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('{ enable = "yes"; }', "enable is not of type bool"),
        ("{ enable = true; keyFile = 3; }", "keyFile is not of type null or str"),
        ("{ enable = true; extraArgs = [ 1 ]; }", "extraArgs is not of type list of str"),
        ("{ enable = true; colour = 1; }", "unknown option services.fleetdocs.agent.colour"),
    ],
)
def test_bad_settings_fail_evaluation(settings: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate_module("agent", settings)
