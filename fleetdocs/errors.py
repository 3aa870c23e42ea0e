"""The one exception family the CLI turns into a single error line and a non-zero exit.

Every check of untrusted or operator-supplied input raises a subclass with a message that
says what was wrong and, where useful, what to do; nothing else is shown to the operator.
"""

from __future__ import annotations


class FleetdocsError(Exception):
    """An error the operator can act on; its message is printed as one line."""

    exit_code = 1


class UsageError(FleetdocsError):
    """The command was asked for something that cannot apply here (wrong role, no fleet...)."""

    exit_code = 2


class KeyFileError(FleetdocsError):
    """A key file is missing, unreadable, not ed25519, or its passphrase is wrong."""


class HomeError(FleetdocsError):
    """The home directory is unsafe, in use by another process, or not set up for this."""


class TicketError(FleetdocsError):
    """A ticket is truncated, corrupt, for another fleet, or for another role."""


class NetError(FleetdocsError):
    """The iroh node could not do what was asked (start, join, sync)."""


def with_article(noun: str) -> str:
    """"an admin", "a coordinator": role names in messages."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"
