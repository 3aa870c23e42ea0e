"""Canonical JSON bytes: sorted keys, no whitespace, UTF-8 without escapes.

Everything fleetdocs signs, hashes or checksums (audit entries, checkpoints, enrollment
requests, grants, manifests, tickets) is encoded with this one function, so that two peers
produce identical bytes for the same value. The strict reverse direction for audit objects
is fleetdocs.audit.canonical.parse_canonical; every JSON from outside the process (peers'
entries, tickets, files) is parsed by `decode_json`.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""Built once: ``json.dumps`` with options builds a new encoder per call (slow)."""


def canonical_bytes(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


_DECODER = json.JSONDecoder()


def decode_json(data: bytes | str, decoder: json.JSONDecoder = _DECODER) -> Any:
    """Parse JSON that came from a peer, a ticket or a file; raises ValueError if malformed.

    Python's decoder recurses once per nesting level: `[` repeated ~1000 times raises
    RecursionError, which no caller's `except ValueError` catches. Peers write such entries
    where others parse them (requests, reports, audit entries), so here it is malformed input
    like any other.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        return decoder.decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
