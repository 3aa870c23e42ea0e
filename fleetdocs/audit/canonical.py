"""Canonical JSON: the one byte encoding every signed audit object uses.

Signatures and hashes are computed over bytes, so two peers must produce identical bytes for
the same object. We use sorted keys, no whitespace, UTF-8 without escaping, integers only.
Parsing is strict in the other direction: input that would not re-encode to the very same
bytes is rejected, so a signed object has exactly one valid byte representation (no
malleability: a re-encoded copy can never masquerade as a different entry).
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from fleetdocs.audit.errors import AuditError


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """Encode a JSON object canonically (sorted keys, compact, UTF-8)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_canonical(
    raw: bytes, *, max_size: int, what: str, error: type[AuditError]
) -> dict[str, Any]:
    """Parse ``raw`` as a canonical JSON object or raise ``error`` naming ``what``."""
    if len(raw) > max_size:
        raise error(f"{what} is {len(raw)} bytes, more than the limit of {max_size}")
    try:
        obj = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(f"{what} is not UTF-8 JSON: {_first_line(exc)}") from None
    if not isinstance(obj, dict):
        raise error(f"{what} is not a JSON object")
    reject_floats(obj, what=what, error=error)
    try:
        again = canonical_bytes(obj)
    except UnicodeEncodeError:
        raise error(f"{what} contains an unpaired surrogate escape") from None
    if again != raw:
        raise error(f"{what} is not in canonical form (sorted keys, no spaces, no escapes)")
    return obj


def reject_floats(value: object, *, what: str, error: type[AuditError]) -> None:
    """Raise ``error`` if a float hides anywhere in ``value``: only integers are canonical."""
    if isinstance(value, float):
        raise error(f"{what} contains a non-integer number")
    if isinstance(value, dict):
        for item in value.values():
            reject_floats(item, what=what, error=error)
    elif isinstance(value, list):
        for item in value:
            reject_floats(item, what=what, error=error)


def is_hex(value: object, nbytes: int) -> bool:
    """True if ``value`` is lowercase hex encoding exactly ``nbytes`` bytes."""
    if not isinstance(value, str) or len(value) != 2 * nbytes:
        return False
    return _LOWER_HEX.fullmatch(value) is not None


def is_int(value: object) -> bool:
    """True for a JSON integer (``bool`` is an ``int`` subclass in Python but not here)."""
    return type(value) is int


_LOWER_HEX = re.compile("[0-9a-f]*")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
