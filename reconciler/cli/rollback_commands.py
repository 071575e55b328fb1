"""rollback: propose returning main to a previously applied revision (a revert commit, never a force-push)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.common import LabOption, Output, OutputOption, console, escape, open_lab, print_json, user_errors
from reconciler.service.rollback import propose_rollback


@user_errors
def rollback(
    lab: LabOption = Path("."),
    to: Annotated[str | None, typer.Option("--to", help="An applied revision (default: the one before main's)")]
    = None,
    reason: Annotated[str | None, typer.Option(help="Why, shown to the reviewer")] = None,
    output: OutputOption = Output.text,
) -> None:
    """Open a proposal that returns main to an applied revision; approve it to apply (deletes included)."""
    with open_lab(lab) as service:
        proposal = propose_rollback(service, to=to, reason=reason)
    if output is Output.json:
        print_json(proposal.model_dump(mode="json", exclude={"rendered_diff"}))
        return
    counts = ", ".join(f"{k} {v}" for k, v in proposal.plan.get("counts", {}).items() if v and k != "noop")
    console.print(f"proposal [bold]{proposal.id}[/] on {escape(proposal.branch)}: {escape(proposal.title)}")
    console.print(f"plan: {counts or 'no infrastructure change'}; risk {proposal.risk}")
    console.print(f"Review with `homeport proposals show {proposal.id}`, then `homeport proposals approve "
                  f"{proposal.id}`: the next reconcile applies it, deletes included (within the prune guards).")
