"""Making new entries: genesis, and the next entry of an author on top of a log.

``seq``, ``prev`` and ``deps`` must be right or peers reject the entry, so they are derived
from the log rather than passed by hand: ``prev`` is the author's own last entry, ``deps``
the highest sound entry of every other author (so the entry's vector clock covers all it has
seen). Refuses to write on top of an incomplete or forked own chain: doing so would fork it.
"""

from collections.abc import Mapping
from typing import Any

from nacl.signing import SigningKey

from fleetdocs.audit.actions import FLEET_CREATE
from fleetdocs.audit.entry import AuditEntry, Dep, sign_entry
from fleetdocs.audit.errors import ChainError
from fleetdocs.audit.log import AuditLog
from fleetdocs.audit.verdict import short


def create_fleet(signing_key: SigningKey, name: str, *, time_us: int) -> AuditEntry:
    """The genesis entry; its hash is the new fleet's id."""
    admin = signing_key.verify_key.encode().hex()
    return sign_entry(
        signing_key,
        fleet=None,
        seq=0,
        prev=None,
        deps=[],
        action=FLEET_CREATE,
        args={"name": name, "admin": admin},
        time_us=time_us,
    )


def next_entry(
    log: AuditLog,
    signing_key: SigningKey,
    action: str,
    args: Mapping[str, Any],
    *,
    time_us: int,
) -> AuditEntry:
    """Sign ``action`` as the author's next entry on top of everything ``log`` holds.

    Raises ChainError if the author's own chain in ``log`` has a gap or a fork, and
    ActionArgsError if ``args`` do not fit ``action``. The entry is not observed into ``log``.
    """
    author = signing_key.verify_key.encode().hex()
    own = sorted((e for e in log.entries() if e.author == author), key=lambda e: e.seq)
    if [e.seq for e in own] != list(range(len(own))):
        raise ChainError(
            f"own chain of {short(author)} in this log has a gap or a fork; sync it first"
        )
    prev = own[-1] if own else None
    heads: dict[str, Dep] = {
        other: (other, seq, entry_hash)
        for other, (seq, entry_hash) in log.analysis.heads.items()
        if other != author
    }
    for dep in prev.deps if prev else ():
        if dep[1] > heads.get(dep[0], ("", -1, ""))[1]:
            heads[dep[0]] = dep
    return sign_entry(
        signing_key,
        fleet=log.fleet_id,
        seq=len(own),
        prev=prev.hash if prev else None,
        deps=[heads[other] for other in sorted(heads)],
        action=action,
        args=args,
        time_us=time_us,
    )
