"""The `fleetdocs` command: typer app assembly and the one place errors become exit codes.

Every failure an operator can cause — bad tickets, keys, homes, entries — is a
FleetdocsError and is printed as one line with a non-zero exit; tracebacks are shown only
with FLEETDOCS_DEBUG=1, for errors that are bugs.
"""

from __future__ import annotations

import os
import sys

import typer

from fleetdocs.cli import keys
from fleetdocs.cli.common import err_console
from fleetdocs.errors import FleetdocsError

app = typer.Typer(
    help="Serverless fleet management on iroh-docs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    home: str | None = typer.Option(
        None, "--home", envvar="FLEETDOCS_HOME", help="home directory (default: XDG data dir)"
    ),
) -> None:
    ctx.obj = {"home": home}


app.add_typer(keys.app, name="key")


def register_commands() -> None:
    """Import the command modules, each of which adds its commands to `app`."""
    from fleetdocs.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    register_commands()
    try:
        app(args=argv)
    except SystemExit as exc:  # typer ends every run, and reports usage errors, this way
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except FleetdocsError as exc:
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("FLEETDOCS_DEBUG"):
            raise
        err_console.print(f"internal error: {type(exc).__name__}: {exc}", markup=False)
        return 70
    return 0


if __name__ == "__main__":
    sys.exit(main())
