"""`homeport proposals whatif ID`: run a proposal on a simulated copy of the live lab before merging it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.common import LabOption, Output, OutputOption, console, escape, open_lab, print_json, user_errors
from reconciler.service.whatif import whatif_proposal


@user_errors
def whatif(proposal_id: Annotated[str, typer.Argument(help="Proposal id (or branch)")],
           lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Observe the providers the proposal touches (read only), copy their nodes and guests into a scratch lab of
    simulated providers, apply main then the proposal there, and report plan, placements, per-node capacity
    before and after, open proposals that would no longer fit, and the monthly cost change. The report is
    stored with the proposal (its review page and PR body show it)."""
    with open_lab(lab, actor="whatif") as service:
        report = whatif_proposal(service, proposal_id)
    if output is Output.json:
        print_json({**report.model_dump(mode="json"), "summary": report.summary})
        return
    console.print(f"[bold]what-if of {escape(report.proposal_id)}[/] {escape(report.title)} "
                  f"({report.seconds:.1f} s, scratch lab removed)")
    console.print(escape(report.markdown()), markup=False)
