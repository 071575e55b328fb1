"""The `homeport` command (Typer + Rich): thin over reconciler.service."""

from __future__ import annotations

import typer

from reconciler.cli import (
    capacity_commands,
    daemon_commands,
    drift_commands,
    drill_commands,
    lab_commands,
    plan_commands,
    proposal_commands,
    serve_command,
    sim_commands,
    snapshot_commands,
    status_commands,
    token_commands,
    version_command,
)
from reconciler.cli import demo as demo_module

app = typer.Typer(
    name="homeport",
    help="GitOps for a homelab: desired state in Git, plans you review, a reconciler that applies them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

app.command("version")(version_command.version)
app.command("init")(lab_commands.init)
app.command("schema")(lab_commands.schema)
app.command("validate")(lab_commands.validate)
app.command("render")(lab_commands.render)
app.command("plan")(plan_commands.plan)
app.command("apply")(plan_commands.apply)
app.command("status")(status_commands.status)
app.command("history")(status_commands.history)
app.command("capacity")(capacity_commands.capacity)
app.command("demo")(demo_module.demo)
app.add_typer(status_commands.audit_app, name="audit")
app.add_typer(sim_commands.sim_app, name="sim")
app.add_typer(proposal_commands.proposals_app, name="proposals")
app.add_typer(token_commands.token_app, name="token")
app.command("daemon")(daemon_commands.daemon)
app.command("serve")(serve_command.serve)
app.add_typer(snapshot_commands.snapshot_app, name="snapshot")
app.add_typer(drift_commands.drift_app, name="drift")
app.add_typer(drill_commands.drill_app, name="drill")


def main() -> None:
    """Entry point of the `homeport` command."""
    app()
