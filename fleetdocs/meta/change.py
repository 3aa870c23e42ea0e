"""The unit the audit log hands to the metadata store."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetaChange:
    """One valid ``meta`` audit entry: an Automerge change chunk, exactly as its admin signed it.

    ``author`` and ``time_us`` come from the signed entry, not from the change, because the entry's
    signature is what the fleet trusts; the store checks that the change's actor is ``author``.
    """

    entry_hash: bytes
    author: bytes
    time_us: int
    change: bytes
