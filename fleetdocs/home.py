"""A principal's home directory: key, role configuration, address book, iroh store, lock.

Layout (directory mode 0700, every file 0600):
    key            the ed25519 seed (see fleetdocs.identity)
    config.json    role, fleet id and the namespace ids this home holds capabilities for
    peers.json     the address book (fleetdocs.net.addressbook)
    iroh/          the iroh node's persistent store
    lock           held (flock) by the one process that has the store open
    control.sock   the running daemon's owner-only control socket
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fleetdocs.canonical import decode_json
from fleetdocs.errors import HomeError, UsageError, with_article
from fleetdocs.identity import Identity, read_any_key_file, read_key_file, write_key_file

# Set by the NixOS modules: the principal's key file (identity) and the unit's role (cli).
KEY_FILE_ENV = "FLEETDOCS_KEY_FILE"
ROLE_ENV = "FLEETDOCS_ROLE"
ROLES = ("admin", "coordinator", "agent")


def default_home() -> Path:
    env = os.environ.get("FLEETDOCS_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fleetdocs"


@dataclass
class HomeConfig:
    """What this home is: its role in which fleet, and which namespaces it replicates.

    `scopes` maps a scope name (see fleetdocs.scopes) to a namespace id (hex); the capability
    itself (Read or Write) lives in the iroh store, imported from a ticket.
    """

    role: str | None = None
    fleet: str | None = None
    fleet_name: str | None = None
    scopes: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def require_role(self, *roles: str) -> str:
        if self.role is None:
            raise UsageError(
                "this home is not part of a fleet yet: run `fleetdocs fleet create`, "
                "`fleetdocs join TICKET` or `fleetdocs agent enroll TICKET`"
            )
        if roles and self.role not in roles:
            raise UsageError(f"this command needs {with_article(' or '.join(roles))} home; "
                             f"this is {with_article(self.role)} home")
        return self.role


def refuse_if_readable_by_others(path: Path) -> None:
    """Secrets and the state naming them stay owner-only: a file others can read is refused."""
    if path.exists() and path.stat().st_mode & 0o077:
        raise HomeError(f"{path} is readable by others; run: chmod 600 {path}")


class Home:
    """Owns the files of one home; every write is atomic and owner-only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def key_path(self) -> Path:
        return self.path / "key"

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def store_path(self) -> Path:
        return self.path / "iroh"

    @property
    def socket_path(self) -> Path:
        return self.path / "control.sock"

    @property
    def lock_path(self) -> Path:
        return self.path / "lock"

    def exists(self) -> bool:
        return self.key_path.exists()

    def ensure(self) -> None:
        """Create the directory (0700) or check that an existing one is safe to use."""
        if not self.path.exists():
            self.path.mkdir(mode=0o700, parents=True)
        self.check_permissions()

    def check_permissions(self) -> None:
        try:
            info = self.path.lstat()
        except FileNotFoundError:
            raise HomeError(f"home directory {self.path} does not exist") from None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise HomeError(f"home {self.path} is not a directory")
        if info.st_uid != os.geteuid():
            raise HomeError(f"home {self.path} belongs to another user (uid {info.st_uid})")
        if info.st_mode & 0o077:
            raise HomeError(
                f"home {self.path} is accessible by others (mode {oct(info.st_mode & 0o777)}); "
                f"run: chmod 700 {self.path}"
            )
        for name in ("key", "config.json", "peers.json"):
            refuse_if_readable_by_others(self.path / name)

    def identity(self, create: bool = False) -> Identity:
        external = os.environ.get(KEY_FILE_ENV)
        if external:
            if create:
                self.ensure()
            return self._external_identity(Path(external))
        if not self.key_path.exists():
            if not create:
                raise HomeError(f"no key in {self.path}: run `fleetdocs key show` to create one")
            self.ensure()
            identity = Identity.generate()
            write_key_file(self.key_path, identity)
            return identity
        self.check_permissions()
        return read_key_file(self.key_path)

    def _external_identity(self, path: Path) -> Identity:
        """The key a service manager hands over (NixOS: systemd's LoadCredential).

        It is used where it is and never copied into the home, so it can stay readable by
        root only. A home that already has a different key is refused: its node id, and
        every capability granted to it, belong to that other key.
        """
        refuse_if_readable_by_others(path)
        identity = read_any_key_file(path)
        if self.key_path.exists():
            self.check_permissions()
            own = read_key_file(self.key_path)
            if own.public != identity.public:
                raise HomeError(f"{KEY_FILE_ENV} holds key {identity.public_hex[:12]}…, but "
                                f"{self.path} has key {own.public_hex[:12]}…; a home keeps "
                                "the key it joined the fleet with")
        return identity

    def adopt_identity(self, identity: Identity) -> None:
        """Replace the key of a home that has not joined a fleet yet."""
        self.ensure()
        if self.load_config().role is not None:
            raise HomeError("this home already belongs to a fleet; its key cannot change")
        write_key_file(self.key_path, identity)

    def load_config(self) -> HomeConfig:
        if not self.config_path.exists():
            return HomeConfig()
        try:
            raw = decode_json(self.config_path.read_text())
            return HomeConfig(**raw)
        except (OSError, ValueError, TypeError) as exc:
            raise HomeError(f"damaged {self.config_path}: {exc}") from None

    def save_config(self, config: HomeConfig) -> None:
        write_private_json(self.config_path, asdict(config))

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the home's lock: two processes must never open one iroh store at once."""
        self.ensure()
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise HomeError(
                    f"home {self.path} is in use by another fleetdocs process (pid {holder})"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)


def write_private_json(path: Path, value: object) -> None:
    """Atomically replace `path` with JSON, created 0600 so it is never briefly world-readable."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
