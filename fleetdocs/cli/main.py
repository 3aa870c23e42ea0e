"""The `fleetdocs` command: typer app assembly and the one place errors become exit codes.

Every failure an operator can cause — bad tickets, keys, homes, entries — is a
FleetdocsError and is printed as one line with a non-zero exit; tracebacks are shown only
with FLEETDOCS_DEBUG=1, for errors that are bugs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn

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


def run() -> NoReturn:
    """The console entry point: `main`, then exit without tearing the interpreter down.

    `fleetdocs agent enroll` crashed twice in four 40-agent benchmark set-ups after it had
    printed its result ("double free or corruption", SIGSEGV), i.e. during interpreter
    finalization, where iroh's runtime threads may still deliver callbacks (replica events)
    into Python. Not reproduced on demand (150 `sync` runs under load did not crash), so
    this removes the likeliest cause rather than a proven one. Everything fleetdocs writes
    is closed and synced before `main` returns; only the output streams need flushing.
    """
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
