"""Turn what an operator types (``agent:web-1``, ``agent:3fa2``) into one canonical target.

Operators know agents by name and ids by their first few characters, but the document must only
ever hold full canonical ids, so resolution happens before an edit is made and refuses anything
that is not exactly one thing. A full 64-hex id is taken as it is, even when this home has not
seen that agent or artifact yet: an offline admin may describe a device another admin approved.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fleetdocs.meta.errors import AmbiguousTargetError, UnknownTargetError
from fleetdocs.meta.schema import FIELDS

_FULL_ID = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]+")
_LISTED = 5


@dataclass(frozen=True)
class KnownTargets:
    """Ids this home knows, each with the names it goes by (enrollment, artifact or metadata)."""

    names: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    """kind -> id -> names."""

    @classmethod
    def collect(cls, sources: Iterable[tuple[str, str, str | None]]) -> "KnownTargets":
        """Build from ``(kind, id, name or None)`` triples; one id may come with several names."""
        names: dict[str, dict[str, set[str]]] = {kind: {} for kind in FIELDS}
        for kind, ident, name in sources:
            found = names.setdefault(kind, {}).setdefault(ident, set())
            if name:
                found.add(name)
        return cls({kind: {ident: frozenset(n) for ident, n in ids.items()}
                    for kind, ids in names.items()})


def resolve_target(text: str, known: KnownTargets) -> str:
    """``kind:<full id | unique id prefix | unique name>`` -> ``kind:<full id>``."""
    kind, sep, wanted = text.partition(":")
    if not sep or kind not in FIELDS or not wanted:
        raise UnknownTargetError(
            f"unknown target {text!r}: expected agent:<id, id prefix or name> or "
            "artifact:<hash or hash prefix>"
        )
    lowered = wanted.lower()
    if _FULL_ID.fullmatch(lowered):
        return f"{kind}:{lowered}"
    candidates = known.names.get(kind, {})
    matches = sorted(
        ident for ident, names in candidates.items()
        if wanted in names or (_HEX.fullmatch(lowered) and ident.startswith(lowered))
    )
    if not matches:
        raise UnknownTargetError(f"no {kind} of this fleet has the id prefix or name {wanted!r}")
    if len(matches) > 1:
        listed = ", ".join(ident[:12] for ident in matches[:_LISTED])
        more = f" and {len(matches) - _LISTED} more" if len(matches) > _LISTED else ""
        raise AmbiguousTargetError(
            f"{text!r} matches {len(matches)} {kind}s ({listed}{more}): give more of the id"
        )
    return f"{kind}:{matches[0]}"
