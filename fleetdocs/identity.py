"""One ed25519 key per principal: iroh node key, iroh-docs author and audit signer.

Using a single key means "who wrote this entry" (the iroh-docs author), "which node is this"
(the iroh node id) and "who signed this audit entry" are the same public key, so a reader needs
no mapping table to decide whether an entry's author may write it. Signatures made by fleetdocs
itself are domain-separated (see `fleetdocs.audit`) so they can never be replayed as iroh's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl.signing import SigningKey, VerifyKey

from fleetdocs.errors import KeyFileError

KEY_FILE_MAGIC = b"fleetdocs-ed25519-v1\n"


@dataclass(frozen=True)
class Identity:
    """A principal's signing key; `public` is its id everywhere in fleetdocs."""

    signing_key: SigningKey

    @classmethod
    def generate(cls) -> Identity:
        return cls(SigningKey.generate())

    @property
    def seed(self) -> bytes:
        """The 32-byte secret seed (iroh's secret key and author secret)."""
        return bytes(self.signing_key)

    @property
    def public(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def public_hex(self) -> str:
        return self.public.hex()

    def sign(self, message: bytes) -> bytes:
        return self.signing_key.sign(message).signature


def verify_key(public: bytes) -> VerifyKey:
    if len(public) != 32:
        raise KeyFileError(f"a public key is 32 bytes, got {len(public)}")
    return VerifyKey(public)


def parse_public_hex(text: str) -> bytes:
    """Parse an id as printed by `fleetdocs key show` (64 hex digits)."""
    cleaned = text.strip().lower()
    try:
        raw = bytes.fromhex(cleaned)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise KeyFileError(f"not a fleetdocs id (64 hex digits): {text.strip()[:80]!r}")
    return raw


def write_key_file(path: Path, identity: Identity) -> None:
    """Write the seed with mode 0600 from the start: it is never world-readable, not even briefly."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, KEY_FILE_MAGIC + identity.seed.hex().encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_key_file(path: Path) -> Identity:
    return _parse_key_file(read_secret_file(path), path)


def read_secret_file(path: Path, what: str = "key file") -> bytes:
    """The bytes of a key or passphrase file; a one-line KeyFileError if it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {what} {path}: {exc.strerror}") from None


def _parse_key_file(data: bytes, path: Path) -> Identity:
    if not data.startswith(KEY_FILE_MAGIC):
        raise KeyFileError(f"{path} is not a fleetdocs key file")
    try:
        seed = bytes.fromhex(data[len(KEY_FILE_MAGIC) :].decode().strip())
    except (UnicodeDecodeError, ValueError):
        seed = b""
    if len(seed) != 32:
        raise KeyFileError(f"{path} is a damaged fleetdocs key file")
    return Identity(SigningKey(seed))


def read_any_key_file(path: Path) -> Identity:
    """A fleetdocs key file or an unencrypted OpenSSH ed25519 private key, read in place."""
    data = read_secret_file(path)
    if data.startswith(KEY_FILE_MAGIC):
        return _parse_key_file(data, path)
    try:
        return import_openssh_key(data, None)
    except KeyFileError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def import_openssh_key(data: bytes, passphrase: bytes | None) -> Identity:
    """Adopt an OpenSSH ed25519 private key (optionally passphrase-protected).

    Raises KeyFileError with a specific message for public keys, other key types, a missing or
    wrong passphrase, and anything that is not a key at all.
    """
    stripped = data.strip()
    if stripped.startswith((b"ssh-", b"ecdsa-", b"sk-")):
        raise KeyFileError("this is an OpenSSH public key; give the private key file instead")
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" not in data:
        if b"-----BEGIN" in data:
            raise KeyFileError("not an OpenSSH private key (only ed25519 OpenSSH keys can be imported)")
        raise KeyFileError("not an OpenSSH private key file")
    try:
        key = serialization.load_ssh_private_key(data, password=passphrase)
    except TypeError:
        if passphrase is None:
            raise KeyFileError("the key is passphrase-protected; give --passphrase-file") from None
        raise KeyFileError("the key is not passphrase-protected; omit the passphrase") from None
    except ValueError as exc:
        message = str(exc).lower()
        wrong_passphrase = "checksum" in message or "decrypt" in message or "password" in message
        if passphrase is not None and wrong_passphrase:
            raise KeyFileError("wrong passphrase for the OpenSSH key") from None
        if "unsupported" in message or "key type" in message:
            raise KeyFileError("unsupported OpenSSH key type: only ed25519 keys can be imported") from None
        raise KeyFileError(f"damaged OpenSSH private key: {exc}") from None
    except Exception as exc:  # cryptography raises several types for corrupt input
        raise KeyFileError(f"damaged OpenSSH private key: {type(exc).__name__}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "") or "this"
        raise KeyFileError(f"only ed25519 keys can be imported, not {kind}")
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return Identity(SigningKey(seed))
