"""Self-contained export of an audit log, verifiable offline with only the fleet id.

File layout (JSON lines, each line canonical JSON, UTF-8, newline-terminated):

1. header ``{"fleet": <fleet id>, "format": "fleetdocs-audit-export", "v": 1}``
2. one line per observed entry, ``{"entry": <canonical entry text>}`` (``{"entry_hex": ...}``
   for bytes that are not UTF-8), in increasing order of the entry hash
3. one line per checkpoint, ``{"checkpoint": ...}`` / ``{"checkpoint_hex": ...}``, same order
4. trailer ``{"end": {"checkpoints": m, "digest": <blake3 of all lines before>, "entries": n}}``

Entries and checkpoints are individually signed, so a changed byte inside one is caught by
its signature; the trailer digest, counts and the fixed order additionally catch flipped
bytes anywhere, truncation, removed and reordered lines. The trailer is not signed (the
exporter need not hold a key): whoever rewrites the whole file consistently can drop entries,
which then shows as gaps in the log or as checkpoint heads the export no longer holds.
"""

from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any, Final

import blake3

from fleetdocs.audit.canonical import parse_canonical
from fleetdocs.audit.errors import AuditError, ExportError, ExportTamperedError
from fleetdocs.audit.log import AuditLog
from fleetdocs.audit.verdict import Problem, short
from fleetdocs.audit.witness import check_checkpoints
from fleetdocs.canonical import canonical_bytes

EXPORT_FORMAT: Final = "fleetdocs-audit-export"
EXPORT_VERSION: Final = 1
_MAX_LINE_BYTES: Final = 64 * 1024 * 1024
"""Generous: a line holds one observed byte string, which may be an oversized rejected one."""
_SECTIONS: Final = ("entry", "checkpoint")


def write_export(
    log: AuditLog, checkpoints: Iterable[bytes], path: str | PathLike[str]
) -> None:
    """Write every entry the log ever observed (valid or not) plus the checkpoints."""
    header = {"fleet": log.fleet_id, "format": EXPORT_FORMAT, "v": EXPORT_VERSION}
    lines = [canonical_bytes(header)]
    entries = sorted(log.raws().values(), key=_hash)
    unique_checkpoints = sorted(set(checkpoints), key=_hash)
    lines += [_payload_line("entry", raw) for raw in entries]
    lines += [_payload_line("checkpoint", raw) for raw in unique_checkpoints]
    body = b"".join(line + b"\n" for line in lines)
    trailer = {
        "checkpoints": len(unique_checkpoints),
        "digest": blake3.blake3(body).hexdigest(),
        "entries": len(entries),
    }
    Path(path).write_bytes(body + canonical_bytes({"end": trailer}) + b"\n")


def read_export(
    path: str | PathLike[str], fleet_id: str
) -> tuple[AuditLog, list[bytes], list[Problem]]:
    """Read and verify an export; return the log, the checkpoints and all problems found.

    Raises ExportTamperedError if the file was altered, ExportError if it is not an export
    of ``fleet_id``. Problems *inside* the log (forged entries, forks, ...) are returned.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ExportError(f"cannot read export {path}: {exc.strerror}") from None
    body, trailer = _split_trailer(data)
    lines = body.split(b"\n")[:-1]
    if not lines:
        raise ExportTamperedError("export has no header line")
    _check_header(lines[0], fleet_id)
    payloads: dict[str, list[bytes]] = {section: [] for section in _SECTIONS}
    section_index = 0
    for number, line in enumerate(lines[1:], start=2):
        section, raw = _parse_payload_line(line, number)
        if _SECTIONS.index(section) < section_index:
            raise ExportTamperedError(f"export line {number}: {section} after a later section")
        section_index = _SECTIONS.index(section)
        previous = payloads[section][-1:]
        if previous and _hash(previous[0]) >= _hash(raw):
            raise ExportTamperedError(f"export line {number}: {section}s out of order")
        payloads[section].append(raw)
    counts = {"entries": len(payloads["entry"]), "checkpoints": len(payloads["checkpoint"])}
    for name, count in counts.items():
        if trailer.get(name) != count:
            raise ExportTamperedError(
                f"export trailer counts {trailer.get(name)} {name}, file holds {count}"
            )
    log = AuditLog(fleet_id)
    log.observe_all(payloads["entry"])
    problems = [*log.problems, *check_checkpoints(log, payloads["checkpoint"])]
    return log, payloads["checkpoint"], problems


def _hash(raw: bytes) -> str:
    return blake3.blake3(raw).hexdigest()


def _payload_line(section: str, raw: bytes) -> bytes:
    try:
        return canonical_bytes({section: raw.decode("utf-8")})
    except UnicodeError:
        return canonical_bytes({f"{section}_hex": raw.hex()})


def _parse_payload_line(line: bytes, number: int) -> tuple[str, bytes]:
    obj = _parse_line(line, number)
    if len(obj) == 1:
        ((key, value),) = obj.items()
        if key in _SECTIONS and isinstance(value, str):
            return key, value.encode("utf-8")
        if key.endswith("_hex") and key[:-4] in _SECTIONS and isinstance(value, str):
            try:
                return key[:-4], bytes.fromhex(value)
            except ValueError:
                pass
    raise ExportError(f"export line {number} is not an entry or checkpoint line")


def _split_trailer(data: bytes) -> tuple[bytes, dict[str, Any]]:
    if not data.endswith(b"\n"):
        raise ExportTamperedError("export is truncated (no final newline)")
    cut = data.rfind(b"\n", 0, len(data) - 1) + 1
    body, last = data[:cut], data[cut:-1]
    try:
        trailer = parse_canonical(last, max_size=_MAX_LINE_BYTES, what="trailer", error=AuditError)
    except AuditError:
        raise ExportTamperedError("export trailer is missing or damaged") from None
    end = trailer.get("end")
    if not isinstance(end, dict):
        raise ExportTamperedError("export trailer is missing (file truncated?)")
    if end.get("digest") != _hash(body):
        raise ExportTamperedError("export digest mismatch: the file was altered after export")
    return body, end


def _check_header(line: bytes, fleet_id: str) -> None:
    header = _parse_line(line, 1)
    if header.get("format") != EXPORT_FORMAT or header.get("v") != EXPORT_VERSION:
        raise ExportError("not a fleetdocs audit export of a known version")
    if header.get("fleet") != fleet_id:
        raise ExportError(
            f"export is of fleet {short(str(header.get('fleet')))}, not {short(fleet_id)}"
        )


def _parse_line(line: bytes, number: int) -> dict[str, Any]:
    return parse_canonical(
        line, max_size=_MAX_LINE_BYTES, what=f"export line {number}", error=ExportError
    )
