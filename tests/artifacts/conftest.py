"""Fixtures with real Nix: a built closure of two paths covering every NAR feature."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from artifact_helpers import CLOSURE_NIX, NIX_CONFIG, nix_build


@pytest.fixture(scope="session")
def nix_environment() -> Iterator[None]:
    """Make nix usable offline and without build users; restore the environment afterwards."""
    previous = os.environ.get("NIX_CONFIG")
    os.environ["NIX_CONFIG"] = NIX_CONFIG
    yield
    if previous is None:
        del os.environ["NIX_CONFIG"]
    else:
        os.environ["NIX_CONFIG"] = previous


@pytest.fixture(scope="session")
def built_closure(nix_environment: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The root store path of a real two-path closure."""
    return nix_build(CLOSURE_NIX, tmp_path_factory.mktemp("closure-nix"))
