"""Reginfo records round-trip and match what `nix-store --dump-db` prints."""

from __future__ import annotations

import pytest
from artifact_helpers import requires_nix
from hypothesis import given
from hypothesis import strategies as st

from fleetdocs.artifacts.errors import NixCommandError
from fleetdocs.artifacts.nixhash import format_nar_hash
from fleetdocs.artifacts.nixstore import NixStore
from fleetdocs.artifacts.reginfo import PathInfo, encode_reginfo, parse_reginfo

store_paths = st.text("abcdfg0123", min_size=32, max_size=32).map(lambda h: f"/nix/store/{h}-x")
infos = st.builds(
    PathInfo,
    st.binary(min_size=32, max_size=32).map(format_nar_hash),
    st.integers(0, 1 << 40),
    st.lists(store_paths, unique=True).map(lambda refs: tuple(sorted(refs))),
)


@given(st.dictionaries(store_paths, infos, max_size=5))
def test_round_trip(records: dict[str, PathInfo]) -> None:
    assert parse_reginfo(encode_reginfo(records)) == records


@pytest.mark.parametrize(
    "text",
    [
        "/nix/store/x\n",
        "/nix/store/x\nzz\n1\n\n0\n",
        "/nix/store/x\n" + "0" * 64 + "\n1\n\n2\n/a\n",
        "no newline",
    ],
)
def test_garbage_is_rejected(text: str) -> None:
    with pytest.raises(NixCommandError):
        parse_reginfo(text)


@requires_nix
def test_real_dump_db(built_closure: str) -> None:
    nix = NixStore()
    paths = nix.closure(built_closure)
    records = nix.path_infos(paths)
    assert set(records) == set(paths)
    assert set(records[built_closure].references) < set(paths)


def test_missing_nix_is_a_clear_error() -> None:
    absent = NixStore(executable="/nonexistent/nix-store")
    assert not absent.available()
    with pytest.raises(NixCommandError, match="not found; is Nix installed"):
        absent.closure("/nix/store/x")


@requires_nix
def test_failing_nix_command_reports_its_error() -> None:
    assert NixStore().available()
    with pytest.raises(NixCommandError, match="--query failed"):
        NixStore().closure("/nix/store/" + "0" * 32 + "-absent")
