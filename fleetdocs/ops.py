"""Operations: what a command does to an open home, whichever process carries it out.

Each operation is an async function `(session, **args) -> JSON value`, registered by name.
The CLI either sends the name and arguments to the home's running daemon over the control
socket, or, with no daemon up, opens the home itself and calls the same function. Results
are plain JSON so both paths render identically and `--json` output is the result as is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fleetdocs.errors import UsageError
from fleetdocs.session import Session

OpFunc = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Operation:
    func: OpFunc
    writes: bool  # changes replicated state: push it to peers when no daemon does
    roles: tuple[str, ...]


REGISTRY: dict[str, Operation] = {}


def operation(name: str, *, writes: bool = False, roles: tuple[str, ...] = ()
              ) -> Callable[[OpFunc], OpFunc]:
    def register(func: OpFunc) -> OpFunc:
        REGISTRY[name] = Operation(func, writes, roles)
        return func

    return register


async def dispatch(session: Session, name: str, args: dict[str, Any]) -> Any:
    op = REGISTRY.get(name)
    if op is None:
        raise UsageError(f"unknown operation {name!r}")
    if op.roles:
        session.config.require_role(*op.roles)
    return await op.func(session, **args)
