"""Issue 7: the status view as a person and a script see it. (work in progress)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet.harness import Fleet
from tests.fleet.status_helpers import StatusFleet, build_status_fleet, status

pytestmark = [pytest.mark.net]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatusFleet]:
    root = tmp_path_factory.mktemp("status")
    fleet = Fleet(root)
    try:
        yield build_status_fleet(fleet, root)
    finally:
        fleet.close()


def test_dump(built: StatusFleet) -> None:
    Path("/tmp/sv/status.json").write_text(json.dumps(status(built.fleet, "A"), indent=1))
    Path("/tmp/sv/keys.json").write_text(json.dumps(built.keys))
