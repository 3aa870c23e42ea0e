"""Attach every command group to the root app (kept apart so `main` stays small)."""

from __future__ import annotations

from fleetdocs.cli import admin, artifacts, audit, enroll, fleet, rollout
from fleetdocs.cli import meta as meta_cli
from fleetdocs.cli.main import app

app.add_typer(fleet.fleet_app, name="fleet")
app.command("invite")(fleet.invite)
app.command("join")(fleet.join)
app.command("run")(fleet.run)
app.command("sync")(fleet.sync)
app.command("peers")(fleet.peers)
app.add_typer(admin.admin_app, name="admin")
app.add_typer(admin.coordinator_app, name="coordinator")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(enroll.enroll_app, name="enroll")
app.add_typer(enroll.agent_app, name="agent")
app.add_typer(meta_cli.meta_app, name="meta")
app.add_typer(meta_cli.tag_app, name="tag")
app.add_typer(artifacts.artifact_app, name="artifact")
app.command("assign")(rollout.assign)
app.command("rollback")(rollout.rollback)
app.command("status")(rollout.status)
app.command("demo")(rollout.demo)
