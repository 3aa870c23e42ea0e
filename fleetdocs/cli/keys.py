"""`fleetdocs key ...`: the principal's ed25519 identity."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import typer

from fleetdocs.cli.common import console, home_from, print_json
from fleetdocs.errors import KeyFileError
from fleetdocs.identity import import_openssh_key, read_secret_file

app = typer.Typer(help="Show or import this home's ed25519 key.", no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context, json_out: bool = typer.Option(False, "--json")) -> None:
    """Print this home's public id (creating the key on first use)."""
    identity = home_from(ctx).identity(create=True)
    if json_out:
        print_json({"id": identity.public_hex})
    else:
        console.print(identity.public_hex)


@app.command("import-ssh")
def import_ssh(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="OpenSSH ed25519 private key file"),
    passphrase_file: Path | None = typer.Option(None, help="read the passphrase from this file"),
) -> None:
    """Adopt an OpenSSH ed25519 private key as this home's identity."""
    data = read_secret_file(path)
    passphrase: bytes | None = None
    if passphrase_file is not None:
        passphrase = read_secret_file(passphrase_file, "passphrase file").rstrip(b"\r\n")
    elif _is_encrypted(data):
        if not sys.stdin.isatty():
            raise KeyFileError("the key is passphrase-protected; give --passphrase-file")
        passphrase = getpass.getpass(f"passphrase for {path}: ").encode()
    identity = import_openssh_key(data, passphrase)
    home_from(ctx).adopt_identity(identity)
    console.print(identity.public_hex)


def _is_encrypted(data: bytes) -> bool:
    """OpenSSH marks encrypted keys by a cipher name other than "none" in the decoded body."""
    import base64

    body = b"".join(line for line in data.splitlines() if line and not line.startswith(b"-----"))
    try:
        decoded = base64.b64decode(body)
    except ValueError:
        return False
    return decoded.startswith(b"openssh-key-v1\x00") and b"none" not in decoded[15:40]
