"""Canonical JSON bytes: sorted keys, no whitespace, UTF-8 without escapes.

Everything fleetdocs signs, hashes or checksums (audit entries, checkpoints, enrollment
requests, grants, manifests, tickets) is encoded with this one function, so that two peers
produce identical bytes for the same value. The strict reverse direction for audit objects
is fleetdocs.audit.canonical.parse_canonical.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""Built once: ``json.dumps`` with options builds a new encoder per call (slow)."""


def canonical_bytes(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()
