"""sim: cause drift on the built-in simulator, for demos and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.common import LabOption, console, escape, open_lab, user_errors
from reconciler.service import authoring

sim_app = typer.Typer(help="The built-in simulated provider.", no_args_is_help=True)


@sim_app.command("drift")
@user_errors
def drift(
    resource: Annotated[str, typer.Argument(help="Resource to change behind homeport's back")],
    assignments: Annotated[list[str], typer.Argument(help="FIELD=VALUE, e.g. cpu=8 status=stopped")],
    lab: LabOption = Path("."),
) -> None:
    """Change a simulated machine's live fields out of band, so drift shows on the next plan."""
    changes = dict(authoring.parse_assignment(a) for a in assignments)
    with open_lab(lab) as service:
        fields = authoring.sim_drift(service, resource, changes)
    console.print(f"drifted {resource}: " + ", ".join(f"{k}={escape(repr(fields.get(k)))}" for k in changes))


@sim_app.command("delete")
@user_errors
def delete(
    resource: Annotated[str, typer.Argument(help="Machine to delete behind homeport's back")],
    lab: LabOption = Path("."),
) -> None:
    """Delete a simulated machine out of band."""
    with open_lab(lab) as service:
        authoring.sim_delete(service, resource)
    console.print(f"deleted {resource} out of band")
