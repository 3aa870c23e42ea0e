"""Export: offline round trip with only the fleet id; every kind of tampering is caught."""

from pathlib import Path

import blake3
import pytest
from audit_fixtures import Scenario, body_of, key, meta_args, pub, sign_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetdocs.audit import ExportError, ExportTamperedError, ProblemKind
from fleetdocs.audit.canonical import canonical_bytes
from fleetdocs.audit.export import read_export, write_export
from fleetdocs.audit.witness import checkpoint_of

COORD = key(7)


def _exported(tmp_path: Path) -> tuple[Scenario, Path, bytes]:
    scenario = Scenario()
    scenario.act(scenario.founder, "coordinator.add", {"key": pub(COORD), "name": "c"})
    for index in range(3):
        scenario.act(scenario.founder, "meta", meta_args(bytes([index])))
    log = scenario.log()
    log.observe(b"\xff not utf-8 junk")
    checkpoint = checkpoint_of(log, COORD, counter=1, time_us=1).raw
    path = tmp_path / "audit.jsonl"
    write_export(log, [checkpoint, checkpoint], path)
    return scenario, path, checkpoint


def test_round_trip_reproduces_log_and_checkpoints(tmp_path: Path) -> None:
    scenario, path, checkpoint = _exported(tmp_path)
    log, checkpoints, problems = read_export(path, scenario.fleet_id)
    assert checkpoints == [checkpoint]
    assert log.raws() == scenario.log().raws() | {
        h: r for h, r in log.raws().items() if r.startswith(b"\xff")
    }
    assert [p.kind for p in problems] == [ProblemKind.MALFORMED]
    assert all(log.verdict(e.hash).is_valid for e in scenario.entries)


def test_problems_inside_the_log_survive_export(tmp_path: Path) -> None:
    scenario = Scenario()
    entry = scenario.act(scenario.founder, "meta", meta_args())
    log = scenario.log()
    log.observe(sign_body(key(9), body_of(entry) | {"time": 99}))
    write_export(log, [], tmp_path / "x")
    _, _, problems = read_export(tmp_path / "x", scenario.fleet_id)
    assert [p.kind for p in problems] == [ProblemKind.BAD_SIGNATURE]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_flipped_byte_is_detected(tmp_path: Path, data: st.DataObject) -> None:
    scenario, path, _ = _exported(tmp_path)
    content = bytearray(path.read_bytes())
    position = data.draw(st.integers(0, len(content) - 1))
    content[position] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(content))
    with pytest.raises(ExportError):
        read_export(path, scenario.fleet_id)


def test_removed_reordered_or_truncated_lines_are_detected(tmp_path: Path) -> None:
    scenario, path, _ = _exported(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    variants = {
        "removed": lines[:2] + lines[3:],
        "reordered": [lines[0], lines[2], lines[1], *lines[3:]],
        "truncated": lines[:-1],
        "cut mid-line": [*lines[:-1], lines[-1][:-5]],
    }
    for name, variant in variants.items():
        path.write_bytes(b"".join(variant))
        with pytest.raises(ExportTamperedError):
            read_export(path, scenario.fleet_id)
        assert name


def _redigest(lines: list[bytes], entries: int) -> bytes:
    """What a careful forger does: rewrite the trailer to match the altered body."""
    body = b"".join(lines[:-1])
    trailer = {"checkpoints": 1, "digest": blake3.blake3(body).hexdigest(), "entries": entries}
    return body + canonical_bytes({"end": trailer}) + b"\n"


def test_consistently_rewritten_file_still_shows_reordering_and_gaps(tmp_path: Path) -> None:
    scenario, path, _ = _exported(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    entry_count = len(lines) - 3
    path.write_bytes(_redigest([lines[0], lines[2], lines[1], *lines[3:]], entry_count))
    with pytest.raises(ExportTamperedError, match="order"):
        read_export(path, scenario.fleet_id)
    middle_signature = scenario.entries[2].sig.encode()
    kept = [line for line in lines if middle_signature not in line]
    assert len(kept) == len(lines) - 1
    path.write_bytes(_redigest(kept, entry_count - 1))
    log, _, _ = read_export(path, scenario.fleet_id)
    assert log.analysis.pending, "dropping a middle entry leaves a visible gap"


def test_export_of_another_fleet_or_missing_file_is_an_export_error(tmp_path: Path) -> None:
    _, path, _ = _exported(tmp_path)
    with pytest.raises(ExportError, match="fleet"):
        read_export(path, "00" * 32)
    with pytest.raises(ExportError, match="cannot read"):
        read_export(tmp_path / "absent", "00" * 32)
