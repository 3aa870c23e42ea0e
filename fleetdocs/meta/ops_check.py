"""Checks on a parsed change that need nothing but the change itself.

The counter check comes first and covers every op, because the binding panics on counters and a
panic poisons it for the rest of the process. The schema check keeps the document a flat map of
scalar strings and set members, which is all the edit functions ever write.
"""

from fleetdocs.meta.chunk import Action, Op, ParsedChange, ValueType
from fleetdocs.meta.errors import ChangeRejectedError, SchemaError
from fleetdocs.meta.schema import FieldKind, check_value, field_kind, parse_key


def reject_counters(change: ParsedChange) -> None:
    for op in change.ops:
        if op.action == Action.INCREMENT:
            raise ChangeRejectedError("change contains a counter increment op")
        if op.value.type_code == ValueType.COUNTER:
            raise ChangeRejectedError("change contains a counter value")


def check_schema(change: ParsedChange) -> None:
    """Allow only root-map puts and deletes of schema keys with values of the right kind."""
    for op in change.ops:
        _check_op(op)


def _check_op(op: Op) -> None:
    if op.obj is not None or op.insert or not isinstance(op.key, str):
        raise ChangeRejectedError("change writes inside a nested object; the schema is flat")
    if op.action not in (Action.SET, Action.DELETE):
        raise ChangeRejectedError(
            f"change uses op action {op.action} at {op.key!r}; only put and delete are allowed"
        )
    try:
        key = parse_key(op.key)
        if op.action == Action.DELETE:
            return
        if field_kind(key.target, key.field) is FieldKind.SET:
            if op.value.type_code != ValueType.TRUE:
                raise ChangeRejectedError(f"set member {op.key!r} must be true")
            return
        if op.value.text is None:
            raise ChangeRejectedError(f"field {op.key!r} must be a plain string")
        check_value(op.value.text)
    except SchemaError as error:
        raise ChangeRejectedError(f"change breaks the schema: {error}") from error
