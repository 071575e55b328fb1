"""`homeport drift`: list open deviations; resolve one by a proposal that adopts or reverts it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.common import (
    LabOption,
    Output,
    OutputOption,
    console,
    escape,
    open_lab,
    print_json,
    user_errors,
)
from reconciler.service import commands, queries

drift_app = typer.Typer(help="Drift: live resources that moved away from what was applied.", no_args_is_help=True)


@drift_app.command("list")
@user_errors
def list_cmd(lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Open deviations, field by field, with first and last seen."""
    with open_lab(lab) as service:
        devs = queries.deviations(service)
    if output is Output.json:
        print_json([{"resource": d.resource, "field": d.field, "declared": d.expected,
                     "live": d.actual, "first_seen": d.first_seen, "last_seen": d.last_seen,
                     "action": d.corrective_action} for d in devs])
        return
    if not devs:
        console.print("no open drift")
    for d in devs:
        console.print(f"[red]{escape(d.resource)}[/] {escape(d.field)}: declared {escape(repr(d.expected))}"
                      f", live {escape(repr(d.actual))} (first seen {d.first_seen:%Y-%m-%d %H:%M}, last "
                      f"{d.last_seen:%Y-%m-%d %H:%M})")


@drift_app.command("propose")
@user_errors
def propose_cmd(resource: Annotated[str, typer.Argument(help="The drifted resource")],
                adopt: Annotated[bool, typer.Option("--adopt", help="Write the live values into the YAML")] = False,
                revert: Annotated[bool, typer.Option("--revert", help="Restore declared values once merged")] = False,
                lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Open a proposal resolving RESOURCE's drift; review and merge it with `homeport proposals approve`."""
    if adopt == revert:
        raise ValueError("say how to resolve the drift: --adopt (declare the live values) or --revert (restore)")
    with open_lab(lab) as service:
        proposal = commands.resolve_drift(service, resource, "adopt" if adopt else "revert")
    if output is Output.json:
        print_json(proposal.model_dump(mode="json"))
        return
    console.print(f"proposal [bold]{proposal.id}[/]: {escape(proposal.title)} (risk {proposal.risk}) on branch "
                  f"{proposal.branch}")
    console.print(f"review: homeport proposals show {proposal.id}; merge: homeport proposals approve {proposal.id}")
