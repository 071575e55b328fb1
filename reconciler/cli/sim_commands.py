"""sim: cause drift on the built-in simulator, for demos and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.common import LabOption, console, escape, open_session, user_errors
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.providers.sim.drift import cause_drift, delete_out_of_band, parse_assignment
from reconciler.store.provider_state import DbProviderState

sim_app = typer.Typer(help="The built-in simulated provider.", no_args_is_help=True)


def _sim_state(lab: Path, resource: str) -> DbProviderState:
    session = open_session(lab)
    state = load(session, fetch(session, None))
    eff = state.effective.get(resource)
    sims = [n for n, p in state.lab.spec.providers.items() if p.type == "sim"]
    provider = eff.provider if eff is not None and eff.provider_type == "sim" else (sims[0] if sims else None)
    if provider is None:
        raise ValueError("this lab has no sim provider")
    return DbProviderState(session.db, state.lab_name, provider)


@sim_app.command("drift")
@user_errors
def drift(
    resource: Annotated[str, typer.Argument(help="Resource to change behind homeport's back")],
    assignments: Annotated[list[str], typer.Argument(help="FIELD=VALUE, e.g. cpu=8 status=stopped")],
    lab: LabOption = Path("."),
) -> None:
    """Change a simulated machine's live fields out of band, so drift shows on the next plan."""
    changes = dict(parse_assignment(a) for a in assignments)
    fields = cause_drift(_sim_state(lab, resource), resource, changes)
    console.print(f"drifted {resource}: " + ", ".join(f"{k}={escape(repr(fields.get(k)))}" for k in changes))


@sim_app.command("delete")
@user_errors
def delete(
    resource: Annotated[str, typer.Argument(help="Machine to delete behind homeport's back")],
    lab: LabOption = Path("."),
) -> None:
    """Delete a simulated machine out of band."""
    delete_out_of_band(_sim_state(lab, resource), resource)
    console.print(f"deleted {resource} out of band")
