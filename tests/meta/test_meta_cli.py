"""Fleet metadata end to end: real `fleetdocs` processes, real iroh nodes, real audit entries.

Three admin homes edit offline at the same time (each daemon in its own network namespace),
then meet in pairs, in a chosen order. Every home must end with the same `meta show --json`
and `meta conflicts --json`, the conflict listing every admin's value, and one `meta resolve`
must clear it everywhere. A removed admin's concurrent edits must stay out of every document
and be listed as not applied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from meta_cli_homes import CliFailed, Homes

pytestmark = [
    pytest.mark.net,
    pytest.mark.skipif(os.geteuid() != 0, reason="offline homes need network namespaces (root)"),
]

WEB = "agent:" + "a1" * 32
DB = "agent:" + "d4" * 32
BUILD = "artifact:" + "c3" * 32


@pytest.fixture
def homes(tmp_path: Path) -> Iterator[Homes]:
    homes = Homes(tmp_path)
    try:
        yield homes
    finally:
        homes.close()


def found_fleet(homes: Homes, admins: tuple[str, ...]) -> dict[str, str]:
    """admins[0] creates the fleet and invites the others by key; each joins and gets the log.

    Returns every admin's key. No daemon runs afterwards.
    """
    founder, *others = admins
    homes.run(founder, "fleet", "create", "meta-test")
    keys = {name: homes.key(name) for name in admins}
    homes.start(founder)
    for name in others:
        homes.run(name, "join", homes.run(founder, "invite", "admin", "--key", keys[name]).strip())
        homes.start(name)
    for name in others:
        wait_for_admins(homes, name, set(keys.values()))
    homes.stop(*admins)
    return keys


def wait_for_admins(homes: Homes, name: str, admins: set[str]) -> None:
    from meta_cli_homes import CONVERGE_TIMEOUT, wait_until

    wait_until(lambda: set(homes.json(name, "admin", "list")["admins"]) == admins,
               CONVERGE_TIMEOUT, f"{name} to see every admin")


def edit_offline(homes: Homes, edits: dict[str, list[tuple[str, ...]]]
                 ) -> dict[str, list[dict[str, Any]]]:
    """Each home makes its edits while it can reach no other home (all at the same time)."""
    for name in edits:
        homes.start(name, isolated=True)
    made = {name: [homes.json(name, *command) for command in commands]
            for name, commands in edits.items()}
    homes.stop(*edits)
    return made


def entries(*results: list[dict[str, Any]]) -> set[str]:
    return {result["entry"] for made in results for result in made}


def show(homes: Homes, name: str) -> dict[str, Any]:
    shown: dict[str, Any] = homes.json(name, "meta", "show")
    return shown


def test_offline_admins_converge_resolve_and_a_removed_admins_edits_stay_out(
        homes: Homes) -> None:
    keys = found_fleet(homes, ("A", "B", "C"))
    names = {"A": "web-a", "B": "web-b", "C": "web-c"}
    # Each admin's first edit sets the same field, so the three ops have the same counter and
    # Automerge's winner is the value of the highest actor, i.e. of the highest admin key.
    made = edit_offline(homes, {
        "A": [("meta", "set", WEB, "name", names["A"]), ("tag", "add", WEB, "prod"),
              ("meta", "set", DB, "owner", "alice"), ("meta", "show")],
        "B": [("meta", "set", WEB, "name", names["B"]), ("tag", "add", WEB, "edge"),
              ("meta", "set", WEB, "location", "lab")],
        "C": [("meta", "set", WEB, "name", names["C"]), ("tag", "add", WEB, "prod"),
              ("meta", "set", BUILD, "release_notes", "first build")],
    })
    offline_view = made["A"].pop()
    assert offline_view["targets"][WEB] == {"name": names["A"], "tags": ["prod"]}  # its own only
    assert {result["status"] for results in made.values() for result in results} == {"accepted"}

    # B meets C; then A meets B, who brings C's edits along; then C meets A.
    homes.start("B")
    homes.start("C")
    homes.wait_for("BC", entries(made["B"], made["C"]))
    homes.stop("C")
    homes.start("A")
    homes.wait_for("AB", entries(*made.values()))
    homes.stop("B")
    homes.start("C")
    homes.wait_for("C", entries(made["A"]))

    shown = {name: show(homes, name) for name in "ABC"}
    conflicts = {name: homes.json(name, "meta", "conflicts") for name in "ABC"}
    assert shown["A"] == shown["B"] == shown["C"]
    assert conflicts["A"] == conflicts["B"] == conflicts["C"] == shown["A"]["conflicts"]
    [conflict] = conflicts["A"]
    assert (conflict["target"], conflict["field"]) == (WEB, "name")
    assert {item["author"]: item["value"] for item in conflict["values"]} == {
        keys[name]: names[name] for name in "ABC"}
    assert {item["entry"] for item in conflict["values"]} == {made[n][0]["entry"] for n in "ABC"}
    winner = names[max("ABC", key=lambda name: keys[name])]
    assert conflict["winner"] == conflict["values"][0]["value"] == winner
    assert shown["A"]["targets"] == {
        WEB: {"name": winner, "tags": ["edge", "prod"], "location": "lab"},
        DB: {"owner": "alice"},
        BUILD: {"release_notes": "first build"},
    }
    assert shown["A"]["pending"] == shown["A"]["rejected"] == shown["A"]["not_applied"] == []

    # B, back online with C, resolves; A, offline, learns of it from C later.
    homes.stop("A")
    homes.start("B")
    resolved = homes.json("B", "meta", "resolve", WEB, "name", "web-final")
    assert resolved["status"] == "accepted"
    homes.wait_for("C", {resolved["entry"]})
    homes.stop("B")
    homes.start("A")
    homes.wait_for("A", {resolved["entry"]})
    final = show(homes, "A")
    assert final == show(homes, "B") == show(homes, "C")
    assert final["conflicts"] == [] and final["targets"][WEB]["name"] == "web-final"
    assert homes.json("C", "meta", "get", WEB, "name") == {
        "target": WEB, "field": "name", "value": "web-final", "conflict": None}
    history = homes.json("A", "meta", "history", WEB, "name")["history"]
    assert [(row["action"], row["value"], row["entry"]) for row in history[-1:]] == [
        ("set", "web-final", resolved["entry"])]
    assert sorted(row["value"] for row in history) == sorted([*names.values(), "web-final"])
    homes.stop("A", "C")

    check_removed_admins_edits_stay_out(homes, keys)


def check_removed_admins_edits_stay_out(homes: Homes, keys: dict[str, str]) -> None:
    """Offline and at the same time, C edits what A owns and A removes C; then all meet.

    Part of the test above because founding a three-admin fleet of real processes is what
    costs most of the time.
    """
    made = edit_offline(homes, {
        "C": [("meta", "set", DB, "owner", "mallory"), ("tag", "add", WEB, "evil")],
        "A": [("admin", "remove", keys["C"]),
              ("meta", "set", "agent:web-final", "owner", "alice-too")],  # target given by name
    })
    assert made["A"][1]["target"] == WEB
    sneaky = entries(made["C"])
    by_a = {made["A"][0]["hash"], made["A"][1]["entry"]}
    # C meets the others with `fleetdocs sync` against their daemons.
    homes.start("A")
    homes.start("B")
    homes.meet("C", lambda: homes.holds("C", by_a) and homes.holds("A", sneaky))
    homes.wait_for("B", sneaky | by_a)

    shown = {name: show(homes, name) for name in "ABC"}
    assert shown["A"] == shown["B"] == shown["C"]
    assert shown["A"]["conflicts"] == []  # C's owner of DB would have conflicted with alice's
    assert shown["A"]["targets"][DB] == {"owner": "alice"}
    assert shown["A"]["targets"][WEB]["owner"] == "alice-too"
    assert "evil" not in shown["A"]["targets"][WEB]["tags"]
    assert {row["entry"] for row in shown["A"]["not_applied"]} == sneaky
    assert {(row["author"], row["status"]) for row in shown["A"]["not_applied"]} == {
        (keys["C"], "invalid")}
    prefix = WEB[: len("agent:") + 6]
    assert homes.json("B", "meta", "get", prefix, "owner")["value"] == "alice-too"

    with pytest.raises(CliFailed) as refused:
        homes.run("C", "meta", "set", WEB, "owner", "mallory")
    assert refused.value.returncode == 2
    assert "not an admin" in refused.value.stderr
    with pytest.raises(CliFailed) as unknown:
        homes.run("A", "meta", "get", "agent:nosuchname", "owner")
    assert unknown.value.stderr.startswith("error: no agent")
