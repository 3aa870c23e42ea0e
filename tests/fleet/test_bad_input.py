"""Bad input gets one clear error line, a non-zero exit, no traceback, nothing changed on disk."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from fleetdocs.tickets import PREFIX as TICKET_PREFIX
from tests.fleet.harness import Fleet, fleet_in

pytestmark = pytest.mark.net


def snapshot(root: Path, with_store: bool = True) -> dict[str, tuple[int, str]]:
    """Every file under `root` with its mode and content hash (the lock holds only a pid).

    `with_store=False` leaves out iroh's own database files, which iroh rewrites whenever a
    node opens them; the replica's content is then compared through the CLI instead.
    """
    found = {}
    for path in sorted(root.rglob("*")):
        in_store = "iroh" in path.relative_to(root).parts
        if path.is_file() and path.name != "lock" and not path.name.endswith(".log") \
                and (with_store or not in_store):
            found[str(path.relative_to(root))] = (path.stat().st_mode,
                                                  hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def assert_clean_failure(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]


@pytest.fixture(scope="module")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("bad-input")
    fleet = Fleet(root)
    fleet.run("A", "fleet", "create", "one")
    fleet.run("Z", "fleet", "create", "other")
    tickets = {role: fleet.run("A", "invite", role).stdout.strip()
               for role in ("admin", "coordinator", "agent")}
    tickets["other-fleet-admin"] = fleet.run("Z", "invite", "admin").stdout.strip()
    fleet.run("C", "join", tickets["coordinator"])
    fleet.run("K0", "key", "show")  # a home with a key that is in no fleet
    return {"fleet": fleet, "tickets": tickets}


def cases(tickets: dict[str, str]) -> list[tuple[str, list[str], str]]:
    admin = tickets["admin"]
    return [
        ("fresh", ["join", admin[: len(admin) // 2]], "truncated or corrupt"),
        ("fresh", ["join", "fleetdocs1-!!!not-base32"], "corrupt"),
        ("fresh", ["join", "hello world"], "not a fleetdocs ticket"),
        ("fresh", ["join", "docaaacacm4hp7bsq3phf5hkgucukshbik5xt6tb"], "raw iroh ticket"),
        ("fresh", ["join", tickets["agent"]], "agent enrollment ticket"),
        ("fresh", ["agent", "enroll", admin], "ticket for an admin, not for an agent"),
        ("C", ["join", tickets["other-fleet-admin"]], "this ticket is for fleet"),
        ("C", ["join", admin], "already a coordinator"),
        ("A", ["fleet", "create", "again"], "already an admin"),
        ("fresh", ["join", "@/nonexistent/ticket"], "cannot read ticket file"),
        ("A", ["admin", "add", "not-a-key"], "not a fleetdocs id"),
        ("C", ["admin", "add", "ab" * 32], "needs an admin home; this is a coordinator home"),
        ("fresh", ["audit", "log"], "does not exist"),
        ("K0", ["audit", "log"], "not part of a fleet"),
    ]


def test_bad_tickets_and_arguments(fleets: dict[str, object], tmp_path: Path) -> None:
    fleet = fleets["fleet"]
    assert isinstance(fleet, Fleet)
    tickets = fleets["tickets"]
    assert isinstance(tickets, dict)
    for home, args, expected in cases(tickets):
        before = snapshot(fleet.root)
        result = fleet.run(home, *args, check=False)
        assert_clean_failure(result, expected)
        assert snapshot(fleet.root) == before, f"{args} changed files on disk"


def test_failed_calls_are_reported_without_the_ticket(fleets: dict[str, object]) -> None:
    """Benchmarks print these failures; an agent ticket is the enrollment scope's write secret."""
    fleet, tickets = fleets["fleet"], fleets["tickets"]
    assert isinstance(fleet, Fleet) and isinstance(tickets, dict)
    ticket = tickets["agent"]
    for timeout in (0.01, 60.0):  # killed at its timeout; refused (an agent ticket to `join`)
        with pytest.raises(AssertionError) as failure:
            fleet.run("fresh", "join", ticket, timeout=timeout)
        message = str(failure.value)
        assert f"join {ticket[:len(TICKET_PREFIX)]}… on fresh" in message
        assert ticket[len(TICKET_PREFIX):][:24] not in message


def test_refused_lookup_changes_nothing(fleets: dict[str, object]) -> None:
    """A command that must read the replica to refuse (no such request) changes no data."""
    fleet = fleets["fleet"]
    assert isinstance(fleet, Fleet)
    before, log_before = snapshot(fleet.root, with_store=False), fleet.json_lines("A", "audit", "log")
    assert_clean_failure(fleet.run("A", "enroll", "approve", "ffff", check=False),
                         "no single enrollment request")
    assert snapshot(fleet.root, with_store=False) == before
    assert fleet.json_lines("A", "audit", "log") == log_before


def test_bad_key_files(tmp_path: Path) -> None:
    with fleet_in(tmp_path) as fleet:
        keys = tmp_path / "keys"
        keys.mkdir()
        subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f",
                        str(keys / "rsa")], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f",
                        str(keys / "locked")], check=True)
        (keys / "wrong").write_text("not it\n")
        (keys / "garbage").write_bytes(os.urandom(300))
        for args, expected in [
            (["key", "import-ssh", str(keys / "rsa")], "only ed25519 keys"),
            (["key", "import-ssh", str(keys / "rsa.pub")], "public key"),
            (["key", "import-ssh", str(keys / "locked"), "--passphrase-file", str(keys / "wrong")],
             "wrong passphrase"),
            (["key", "import-ssh", str(keys / "locked")], "passphrase-protected"),
            (["key", "import-ssh", str(keys / "garbage")], "not an OpenSSH private key"),
            (["key", "import-ssh", str(keys / "missing")], "cannot read"),
        ]:
            assert_clean_failure(fleet.run("K", *args, check=False, stdin=""), expected)
        assert not (tmp_path / "K" / "key").exists()
        imported = fleet.run("K", "key", "import-ssh", str(keys / "locked"),
                             "--passphrase-file", str(keys / "pass"), check=False)
        assert imported.returncode != 0
        (keys / "pass").write_text("secret\n")
        key_id = fleet.run("K", "key", "import-ssh", str(keys / "locked"),
                           "--passphrase-file", str(keys / "pass")).stdout.strip()
        assert fleet.key("K") == key_id

        fleet.run("D", "key", "show")
        (tmp_path / "D" / "key").write_bytes(b"fleetdocs-ed25519-v1\nnot hex\n")
        assert_clean_failure(fleet.run("D", "fleet", "create", "x", check=False), "damaged")
        (tmp_path / "D" / "key").write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
        assert_clean_failure(fleet.run("D", "fleet", "create", "x", check=False),
                             "not a fleetdocs key file")


def test_service_key_file_and_role(tmp_path: Path) -> None:
    """What the NixOS modules hand over: FLEETDOCS_KEY_FILE (a credential) and FLEETDOCS_ROLE."""
    with fleet_in(tmp_path) as fleet:
        keys = tmp_path / "keys"
        keys.mkdir()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "svc")],
                       check=True)
        fleet.run("K", "key", "import-ssh", str(keys / "svc"))
        expected = fleet.key("K")
        fleet.hosts_env["S"] = {"FLEETDOCS_KEY_FILE": str(keys / "svc")}
        fleet.run("S", "fleet", "create", "svc")
        assert fleet.key("S") == expected, "the node runs with the handed-over key"
        assert not (tmp_path / "S" / "key").exists(), "the secret is not copied into the home"

        fleet.hosts_env["S"]["FLEETDOCS_ROLE"] = "coordinator"
        assert_clean_failure(fleet.run("S", "run", check=False),
                             "FLEETDOCS_ROLE=coordinator (the service's role), but")

        fleet.run("D", "key", "show")  # a home with a key of its own
        fleet.hosts_env["D"] = {"FLEETDOCS_KEY_FILE": str(keys / "svc")}
        assert_clean_failure(fleet.run("D", "key", "show", check=False),
                             "a home keeps the key it joined the fleet with")
        (keys / "svc").chmod(0o644)
        assert_clean_failure(fleet.run("S", "key", "show", check=False), "readable by others")
        (keys / "svc.pub").chmod(0o600)
        fleet.hosts_env["S"] = {"FLEETDOCS_KEY_FILE": str(keys / "svc.pub")}
        assert_clean_failure(fleet.run("S", "key", "show", check=False), "public key")


def test_unsafe_home_and_home_in_use(tmp_path: Path) -> None:
    with fleet_in(tmp_path) as fleet:
        fleet.run("A", "fleet", "create", "perm")
        home = tmp_path / "A"
        before = snapshot(home)
        home.chmod(0o755)
        assert_clean_failure(fleet.run("A", "admin", "list", check=False), "chmod 700")
        home.chmod(0o700)
        (home / "key").chmod(0o644)
        assert_clean_failure(fleet.run("A", "admin", "list", check=False), "readable by others")
        (home / "key").chmod(0o600)
        assert snapshot(home) == before

        fleet.start("A")
        second = fleet.run("A", "run", check=False, timeout=30)
        assert_clean_failure(second, "in use by another fleetdocs process")
        (home / "control.sock").unlink()  # a stale or removed socket: the CLI opens the home
        assert_clean_failure(fleet.run("A", "admin", "list", check=False), "in use")
