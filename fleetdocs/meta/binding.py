"""The only module that talks to the automerge binding.

The binding (automerge==0.2.0.dev4) has no ``apply_changes``. ``Document.load`` of concatenated
change chunks rebuilds a whole document quickly; to add changes to a live document we wrap them in
a version 1 sync message, whose ``receive_sync_message`` applies them incrementally. Callers only
hand over changes that fleetdocs already checked (no counters, deps present), because a panic in
the binding poisons its lock for the rest of the process.
"""

from collections.abc import Sequence

from automerge.core import ROOT, Document, Message, ScalarType, SyncState

from fleetdocs.meta.errors import MetaError
from fleetdocs.varint import encode_uleb128

_SYNC_MESSAGE_TYPE = 0x42

Write = tuple[str, str | bool | None]
"""A root-map write: (key, value); value None deletes the key."""



def _sync_message_carrying(changes: Sequence[bytes]) -> bytes:
    """A sync message with no heads, needs or bloom filters: just the changes."""
    empty_heads = empty_need = empty_have = encode_uleb128(0)
    body = b"".join(encode_uleb128(len(change)) + change for change in changes)
    count = encode_uleb128(len(changes))
    return bytes([_SYNC_MESSAGE_TYPE]) + empty_heads + empty_need + empty_have + count + body


class BindingError(MetaError):
    """The binding refused changes that fleetdocs had checked: a gap in fleetdocs' checks."""


class MetaDocument:
    """A live Automerge document holding only the flat root map of the metadata schema."""

    def __init__(self, document: Document | None = None) -> None:
        self._document = document if document is not None else Document()

    @classmethod
    def load(cls, changes: Sequence[bytes]) -> "MetaDocument":
        """Build a document from checked change chunks given in causal order."""
        try:
            return cls(Document.load(b"".join(changes)))
        except Exception as error:
            raise BindingError(f"automerge refused the changes: {error}") from error

    def apply(self, changes: Sequence[bytes]) -> None:
        """Merge checked change chunks whose deps are all in the document."""
        if not changes:
            return
        try:
            message = Message.decode(_sync_message_carrying(changes))
            self._document.receive_sync_message(SyncState(), message)
        except Exception as error:
            raise BindingError(f"automerge refused the changes: {error}") from error

    def heads(self) -> list[bytes]:
        return sorted(self._document.get_heads())

    def save(self) -> bytes:
        return self._document.save()

    def keys(self) -> list[str]:
        return self._document.keys(ROOT)

    def get(self, key: str) -> str | bool | None:
        """The winning value at ``key`` (Automerge's rule), or None if unset."""
        found = self._document.get(ROOT, key)
        if found is None:
            return None
        value, _ = found
        if not isinstance(value, tuple) or not isinstance(value[1], str | bool):
            raise BindingError(f"key {key!r} holds {value!r}, which fleetdocs never writes")
        return value[1]

    def change(self, actor: bytes, writes: Sequence[Write]) -> bytes | None:
        """Make one change by ``actor`` on a fork and return its bytes, leaving self unchanged.

        Returns None when the writes change nothing (Automerge makes no change then).
        """
        fork = self._document.fork()
        fork.set_actor(actor)
        heads_before = fork.get_heads()
        with fork.transaction() as transaction:
            for key, value in writes:
                if value is None:
                    transaction.delete(ROOT, key)
                elif isinstance(value, bool):
                    transaction.put(ROOT, key, ScalarType.Boolean, value)
                else:
                    transaction.put(ROOT, key, ScalarType.Str, value)
        if fork.get_heads() == heads_before:
            return None
        made = fork.get_last_local_change()
        return None if made is None else made.bytes
