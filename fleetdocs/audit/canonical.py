"""Canonical JSON: the one byte encoding every signed audit object uses.

Signatures and hashes are computed over bytes, so two peers must produce identical bytes for
the same object. We use sorted keys, no whitespace, UTF-8 without escaping, integers only.
Parsing is strict in the other direction: input that would not re-encode to the very same
bytes is rejected, so a signed object has exactly one valid byte representation (no
malleability: a re-encoded copy can never masquerade as a different entry).
"""

import json
from typing import Any

from fleetdocs.audit.errors import AuditError
from fleetdocs.canonical import canonical_bytes, decode_json


def parse_canonical(
    raw: bytes, *, max_size: int, what: str, error: type[AuditError]
) -> dict[str, Any]:
    """Parse ``raw`` as a canonical JSON object or raise ``error`` naming ``what``."""
    if len(raw) > max_size:
        raise error(f"{what} is {len(raw)} bytes, more than the limit of {max_size}")
    plain = _parse_plain(raw)
    if plain is not None:
        return plain
    try:
        obj = decode_json(raw, _DECODER)
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(f"{what} is not integer-only UTF-8 JSON: {_first_line(exc)}") from None
    if not isinstance(obj, dict):
        raise error(f"{what} is not a JSON object")
    try:
        again = canonical_bytes(obj)
    except UnicodeEncodeError:
        raise error(f"{what} contains an unpaired surrogate escape") from None
    if again != raw:
        raise error(f"{what} is not in canonical form (sorted keys, no spaces, no escapes)")
    return obj


def _parse_plain(raw: bytes) -> dict[str, Any] | None:
    """The object if ``raw`` is canonical as it stands; None if only re-encoding can tell.

    In JSON without whitespace, backslashes and ``-0`` every token is spelled the canonical
    way already (strings hold no escapes, and strict parsing rejects raw control characters;
    other integers have one spelling; floats and constants are rejected), so only the
    order and repetition of object keys are left open: if the keys of every object strictly
    increase, re-encoding would give ``raw`` back. Checking that while parsing is cheaper
    than re-encoding (parsing an entry takes ~20 % less). Whatever this does not accept (a
    space in a name, any error) takes the full path, so results and error messages are the
    same either way.
    """
    # find, not ``in``: bytes.__contains__ first tries the marker as an int and formats an error
    if any(raw.find(marker) >= 0 for marker in _NOT_PLAIN):
        return None
    try:
        obj = decode_json(raw, _SORTED_DECODER)
    except (UnicodeDecodeError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def is_hex(value: object, nbytes: int) -> bool:
    """True if ``value`` is lowercase hex encoding exactly ``nbytes`` bytes."""
    if not isinstance(value, str) or len(value) != 2 * nbytes:
        return False
    # bytes.fromhex is faster than a regular expression, and this runs for every hash and key
    # of every entry. It skips whitespace between bytes (the length shows there was none) and
    # accepts upper case (so compare with the lower-case spelling).
    try:
        decoded = _FROMHEX(value)
    except ValueError:
        return False
    return len(decoded) == nbytes and value == value.lower()


_FROMHEX = bytes.fromhex
"""Bound once: looking the class method up on every call costs an eighth of ``is_hex``."""


def is_int(value: object) -> bool:
    """True for a JSON integer (``bool`` is an ``int`` subclass in Python but not here)."""
    return type(value) is int


def _reject_number(text: str) -> None:
    """Only integers are canonical: reject floats, exponents, NaN and Infinity while parsing."""
    raise ValueError(f"non-integer number {text} is not allowed")


def _sorted_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The object of ``pairs``; raise ValueError unless its keys strictly increase."""
    obj = dict(pairs)
    if len(obj) != len(pairs) or list(obj) != sorted(obj):
        raise ValueError("keys not sorted or repeated")
    return obj


_DECODER = json.JSONDecoder(parse_float=_reject_number, parse_constant=_reject_number)
"""Built once: ``json.loads`` with options builds a new decoder per call (slow)."""
_SORTED_DECODER = json.JSONDecoder(
    parse_float=_reject_number, parse_constant=_reject_number, object_pairs_hook=_sorted_object
)
_NOT_PLAIN = (b" ", b"\t", b"\n", b"\r", b"\\", b"-0")
"""JSON whitespace, the escape character and ``-0``: input holding any of them (even inside
a string, as in a name) is checked by re-encoding."""


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
