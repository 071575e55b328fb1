"""The `homeport` command (Typer + Rich): thin over reconciler.service.

Commands load lazily: `homeport --help` lists them from the table below without importing any command
module, and `homeport plan` imports plan_commands only (not the daemon, the web server or alembic). A
test keeps each entry's help equal to the docstring of the command it names.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command, get_group


class Entry(NamedTuple):
    """One top-level command: where it lives and the one line `homeport --help` shows for it."""

    module: str
    attr: str
    group: bool
    help: str


COMMANDS: dict[str, Entry] = {
    "version": Entry("version_command", "version", False, "Print homeport's version (and the Python running it)."),
    "init": Entry(
        "lab_commands", "init", False, "Create a lab: a new Git repository holding the example lab, committed on main."
    ),
    "schema": Entry(
        "lab_commands",
        "schema",
        False,
        "Write the JSON Schemas of homeport.yaml, pools, templates and resources for editors.",
    ),
    "validate": Entry(
        "lab_commands",
        "validate",
        False,
        "Check the desired state at a commit: kinds, references, chart values (and rendered outputs).",
    ),
    "render": Entry(
        "lab_commands", "render", False, "Render every resource's chart into rendered-configs/<resource>/<chart>/."
    ),
    "plan": Entry("plan_commands", "plan", False, "Show what applying would change; read only."),
    "apply": Entry(
        "plan_commands", "apply", False, "Apply the main branch's plan after you approve it (as `terraform apply`)."
    ),
    "status": Entry(
        "status_commands",
        "status",
        False,
        "Each managed resource with provider, node, id, state and whether it matches; open deviations; last runs.",
    ),
    "history": Entry(
        "status_commands",
        "history",
        False,
        "What changed when: applies (with the fields they changed), skips and failures, or the runs themselves.",
    ),
    "capacity": Entry(
        "capacity_commands",
        "capacity",
        False,
        "Capacity, allocation (x ratio), usage and free-to-place per node of every enabled provider.",
    ),
    "rollback": Entry(
        "rollback_commands",
        "rollback",
        False,
        "Open a proposal that returns main to an applied revision; approve it to apply (deletes included).",
    ),
    "demo": Entry(
        "demo",
        "demo",
        False,
        "Init a lab, plan, apply, cause drift, see it, reconcile it away, show status and the audit trail.",
    ),
    "daemon": Entry(
        "daemon_commands",
        "daemon",
        False,
        "Reconcile every reconcile.interval (with jitter), on pushes (webhook) and on polled changes.",
    ),
    "serve": Entry(
        "serve_command",
        "serve",
        False,
        'Serve the web UI at /, the REST API at /api/v1 and MCP at /mcp; runs start on approval or "Run now".',
    ),
    "audit": Entry("status_commands", "audit_app", True, "The audit trail: list it, verify its hash chain."),
    "sim": Entry("sim_commands", "sim_app", True, "The built-in simulated provider."),
    "proposals": Entry(
        "proposal_commands", "proposals_app", True, "Review proposals: branches with one commit and a plan preview."
    ),
    "token": Entry(
        "token_commands",
        "token_app",
        True,
        "Bearer tokens for homeport-mcp over HTTP (scopes: read, propose, approve, admin).",
    ),
    "snapshot": Entry(
        "snapshot_commands", "snapshot_app", True, "Snapshots of the observed infrastructure and desired state."
    ),
    "drift": Entry("drift_commands", "drift_app", True, "Drift: live resources that moved away from what was applied."),
    "drill": Entry(
        "drill_commands", "drill_app", True, "Drills on a throwaway scratch lab: nothing touches the real providers."
    ),
}


def load_command(name: str) -> Any:
    """The real click command (or group) behind a table entry; imports its module."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(f"reconciler.cli.{entry.module}"), entry.attr)
    if entry.group:
        group = get_group(target)
        group.name = name
        return group
    single = typer.Typer(add_completion=False)
    single.command(name)(target)
    return get_command(single)


class LazyGroup(TyperGroup):
    """The root group: placeholders (name + help) until a command is resolved, then the real one."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.placeholders = set(COMMANDS) - set(self.commands)
        for name in self.placeholders:
            self.commands[name] = TyperCommand(name=name, help=COMMANDS[name].help)
        self.commands = {name: self.commands[name] for name in [*COMMANDS, *self.commands] if name in self.commands}

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in self.placeholders:
            self.placeholders.discard(args[0])
            self.commands[args[0]] = load_command(args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="homeport",
    help="GitOps for a homelab: desired state in Git, plans you review, a reconciler that applies them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def root() -> None:
    """GitOps for a homelab: desired state in Git, plans you review, a reconciler that applies them."""


def main() -> None:
    """Entry point of the `homeport` command."""
    app()
