"""The audit entry: one signed admin action, its canonical bytes, hash and vector clock.

An admin action *is* its entry, so everything a peer needs to judge it is inside the signed
bytes: the fleet it belongs to, the author's chain position (``seq`` and ``prev``), and the
heads of every other author chain the author had seen (``deps``). ``deps`` plus the entry's own
``(author, seq)`` form a full vector clock of its causal past, which lets us decide "did the
author know about X?" from a single entry without walking the DAG.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

import blake3
from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

from fleetdocs.audit.actions import FLEET_CREATE, check_args
from fleetdocs.audit.canonical import is_hex, is_int, parse_canonical
from fleetdocs.audit.errors import AuditError, EntryFormatError, SignatureError
from fleetdocs.canonical import canonical_bytes
from fleetdocs.scopes import audit_key

FORMAT_VERSION: Final = 1
SIGNATURE_DOMAIN: Final = b"fleetdocs/audit/v1\x00"
MAX_ENTRY_BYTES: Final = 256 * 1024
MAX_ACTION_CHARS: Final = 64
_SIG_MARKER: Final = b',"sig":"'
_FIELDS: Final = frozenset(
    {"v", "fleet", "author", "seq", "prev", "deps", "time", "action", "args", "sig"}
)

Dep = tuple[str, int, str]
"""A head of another author's chain: ``(author_hex, seq, entry_hash_hex)``."""


@dataclass(frozen=True, eq=False, slots=True)
class AuditEntry:
    """A parsed audit entry. Build with :func:`sign_entry` or :meth:`from_bytes` only.

    Equality and hashing go by the entry hash: two entries are the same iff their canonical
    bytes are identical. Slots, no instance dict: a log holds one per entry, and at 100k
    entries the smaller objects make verification measurably faster (memory, garbage
    collection).
    """

    fleet: str | None
    author: str
    seq: int
    prev: str | None
    deps: tuple[Dep, ...]
    time_us: int
    action: str
    args: Mapping[str, Any]
    sig: str
    raw: bytes = field(repr=False)
    hash: str
    clock: Mapping[str, int] = field(repr=False)
    """Author -> highest seq in the causal past, incl. this entry (a plain dict for speed:
    it is read for every reference during verification; treat it as read-only)."""
    height: int = field(repr=False)
    """Number of entries in the causal past including this one: sum of (seq + 1) over clock."""

    @classmethod
    def from_bytes(cls, raw: bytes) -> "AuditEntry":
        """Parse canonical entry bytes; raise EntryFormatError on anything else.

        The signature is *not* checked here (see :meth:`verify_signature`) so that the log can
        keep a forged entry as evidence instead of losing it.
        """
        return cls.from_hashed_bytes(raw, blake3.blake3(raw).hexdigest())

    @classmethod
    def from_hashed_bytes(cls, raw: bytes, digest: str) -> "AuditEntry":
        """:meth:`from_bytes` for a caller that has just computed ``digest = blake3(raw)``.

        Saves hashing twice on the verification hot path; ``digest`` is trusted as given.
        """
        obj = parse_canonical(
            raw, max_size=MAX_ENTRY_BYTES, what="audit entry", error=EntryFormatError
        )
        if obj.get("v") != FORMAT_VERSION or not is_int(obj.get("v")):
            raise EntryFormatError(f"audit entry has unknown format version {obj.get('v')!r}")
        if obj.keys() != _FIELDS:
            missing = sorted(_FIELDS - obj.keys())
            extra = sorted(obj.keys() - _FIELDS)
            raise EntryFormatError(
                f"audit entry fields wrong: missing {missing or 'none'}, "
                f"unexpected {extra or 'none'}"
            )
        author = _hex_field(obj, "author", 32)
        seq = obj["seq"]
        if not is_int(seq) or seq < 0:
            raise EntryFormatError("audit entry seq must be a non-negative integer")
        prev = obj["prev"]
        if seq == 0 and prev is not None:
            raise EntryFormatError("audit entry with seq 0 must have prev null")
        if seq > 0:
            prev = _hex_field(obj, "prev", 32)
        action = obj["action"]
        if not isinstance(action, str) or not 0 < len(action) <= MAX_ACTION_CHARS:
            raise EntryFormatError(
                f"audit entry action must be a string of 1 to {MAX_ACTION_CHARS} characters"
            )
        fleet = obj["fleet"]
        if fleet is None:
            if action != FLEET_CREATE or seq != 0 or obj["deps"] != []:
                raise EntryFormatError(
                    "audit entry without fleet must be a genesis (fleet.create, seq 0, no deps)"
                )
        else:
            fleet = _hex_field(obj, "fleet", 32)
            if action == FLEET_CREATE:
                raise EntryFormatError("fleet.create entry must have fleet null (it is genesis)")
        deps = parse_heads(obj["deps"], what="audit entry deps", error=EntryFormatError)
        clock = {dep_author: dep_seq for dep_author, dep_seq, _ in deps}
        if author in clock:
            raise EntryFormatError("audit entry deps must not name the entry's own author")
        time_us = obj["time"]
        if not is_int(time_us) or time_us < 0:
            raise EntryFormatError("audit entry time must be a non-negative integer (µs)")
        args = obj["args"]
        if not isinstance(args, dict):
            raise EntryFormatError("audit entry args must be a JSON object")
        sig = _hex_field(obj, "sig", 64)
        clock[author] = seq
        return cls(
            fleet=fleet,
            author=author,
            seq=seq,
            prev=prev,
            deps=deps,
            time_us=time_us,
            action=action,
            args=MappingProxyType(args),
            sig=sig,
            raw=raw,
            hash=digest,
            clock=clock,
            height=sum(clock.values()) + len(clock),
        )

    def to_bytes(self) -> bytes:
        """The canonical bytes (what is stored, hashed and exported)."""
        return self.raw

    def signing_message(self) -> bytes:
        """The exact bytes the author signed: domain tag + canonical body without ``sig``.

        Cut out of the canonical bytes instead of re-encoding (it is on the hot path of
        verification): removing one key from a canonical object leaves the canonical
        encoding of the rest, and the top-level ``sig`` is the last ``,"sig":"`` in the bytes
        because only the integer fields ``time`` and ``v`` follow it.
        """
        start = self.raw.rindex(_SIG_MARKER)
        end = start + len(_SIG_MARKER) + len(self.sig) + 1
        return SIGNATURE_DOMAIN + self.raw[:start] + self.raw[end:]

    def verify_signature(self) -> None:
        """Raise SignatureError unless ``sig`` is the author's signature over the entry."""
        try:
            _verify_key(self.author).verify(self.signing_message(), bytes.fromhex(self.sig))
        except (CryptoError, ValueError):
            raise SignatureError(
                f"signature of entry {self.hash[:16]} does not verify for author "
                f"{self.author[:16]}"
            ) from None

    @property
    def is_genesis(self) -> bool:
        return self.fleet is None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuditEntry) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)


def sign_entry(
    signing_key: SigningKey,
    *,
    fleet: str | None,
    seq: int,
    prev: str | None,
    deps: list[Dep] | tuple[Dep, ...],
    action: str,
    args: Mapping[str, Any],
    time_us: int,
) -> AuditEntry:
    """Sign a new entry. Raises ActionArgsError / EntryFormatError for values peers would reject.

    This is the low-level constructor; :func:`fleetdocs.audit.append.next_entry` fills in
    ``seq``, ``prev`` and ``deps`` from a log.
    """
    check_args(action, args)
    body = {
        "v": FORMAT_VERSION,
        "fleet": fleet,
        "author": signing_key.verify_key.encode().hex(),
        "seq": seq,
        "prev": prev,
        "deps": [list(dep) for dep in deps],
        "time": time_us,
        "action": action,
        "args": dict(args),
    }
    signature = signing_key.sign(SIGNATURE_DOMAIN + canonical_bytes(body)).signature
    raw = canonical_bytes({**body, "sig": signature.hex()})
    return AuditEntry.from_bytes(raw)


def in_past(candidate: AuditEntry, entry: AuditEntry) -> bool:
    """True if ``candidate`` is in the causal past of ``entry`` (excluding ``entry`` itself).

    Decided from ``entry``'s vector clock alone: the author of ``entry`` had seen
    ``candidate``'s author up to at least ``candidate.seq``.
    """
    return candidate.hash != entry.hash and entry.clock.get(candidate.author, -1) >= candidate.seq


def concurrent(first: AuditEntry, second: AuditEntry) -> bool:
    """True if neither entry is in the causal past of the other (and they differ)."""
    return (
        first.hash != second.hash
        and not in_past(first, second)
        and not in_past(second, first)
    )


def order_key(entry: AuditEntry) -> tuple[int, str]:
    """Deterministic total order that extends the causal order.

    ``height`` (size of the causal past incl. the entry) strictly grows along every
    reference of a well-formed entry, so sorting by ``(height, hash)`` puts every entry after
    its causal past; concurrent entries are ordered by height, then hash. Note: the plain sum
    of clock values would *not* extend causality (a first entry, seq 0, of a new author adds 0).
    """
    return (entry.height, entry.hash)


def storage_key(author: str, seq: int) -> bytes:
    """iroh-docs key of an author's entry in the control namespace (see fleetdocs.scopes)."""
    return audit_key(author, seq)


@lru_cache(maxsize=1024)
def _verify_key(author: str) -> VerifyKey:
    """Admins are few and sign many entries: build each key object once."""
    return VerifyKey(bytes.fromhex(author))


def _hex_field(obj: Mapping[str, Any], name: str, nbytes: int) -> str:
    value = obj[name]
    if not is_hex(value, nbytes):
        raise EntryFormatError(f"audit entry {name} must be {2 * nbytes} lowercase hex characters")
    return str(value)


def parse_heads(value: object, *, what: str, error: type[AuditError]) -> tuple[Dep, ...]:
    """Parse a list of chain heads ``[author_hex, seq, hash_hex]``, sorted, one per author.

    Shared by entry deps and checkpoint heads, which have the same shape and rules.
    """
    if not isinstance(value, list):
        raise error(f"{what} must be a list")
    heads: list[Dep] = []
    for item in value:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and is_hex(item[0], 32)
            and is_int(item[1])
            and item[1] >= 0
            and is_hex(item[2], 32)
        ):
            raise error(f"each of {what} must be [author_hex, seq, hash_hex]")
        heads.append((item[0], item[1], item[2]))
    authors = [head[0] for head in heads]
    if authors != sorted(set(authors)):
        raise error(f"{what} must be sorted by author, one per author")
    return tuple(heads)
