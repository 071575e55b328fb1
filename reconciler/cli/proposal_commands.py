"""`homeport proposals list|show|approve|reject`: review what agents (and people) proposed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
from reconciler.cli.whatif_commands import whatif
from reconciler.service import commands, queries
from reconciler.service.views import ProposalView, counts_line

proposals_app = typer.Typer(help="Review proposals: branches with one commit and a plan preview.",
                            no_args_is_help=True)


def print_proposal(p: ProposalView, *, diff: bool = True) -> None:
    """A proposal for people: summary first, deletes and replaces first, then the diff."""
    console.print(f"[bold]{escape(p.title)}[/]  [dim]{p.id}[/]")
    console.print(f"  status {p.status}, risk [bold]{p.risk}[/], {counts_line(p.plan)}")
    console.print(f"  branch {p.branch} (commit {p.head_commit[:12]}, base {p.base_commit[:12]})")
    console.print(f"  by {escape(p.author)}" + (f", reviewed by {escape(p.reviewed_by)}" if p.reviewed_by else ""))
    if p.reason:
        console.print(f"  reason: {escape(p.reason)}")
    if p.forge_url:
        console.print(f"  pull request: {p.forge_url}")
    order = {"delete": 0, "replace": 1, "rename": 2, "update": 3, "create": 4}
    for change in sorted(p.plan.get("changes", []), key=lambda c: (order.get(c["op"], 9), c["resource"])):
        console.print(f"  {change['op']:8} {escape(change['resource'])} (risk {change['risk']}): "
                      f"{escape(change['reason'])}")
    pending = p.plan.get("also_pending_on_main") or []
    if pending:
        console.print("  also pending on main (not this proposal's, not in its risk): " + "; ".join(
            f"{x['op']} {escape(x['resource'])}" + (f" ({', '.join(x['fields'])})" if x.get("fields") else "")
            + (" [drift]" if x.get("drift") else "") for x in pending))
    if diff and p.rendered_diff:
        console.rule("rendered diff")
        console.print(escape(p.rendered_diff), markup=False)


@proposals_app.command("list")
@user_errors
def list_cmd(lab: LabOption = Path("."), status: Annotated[str | None, typer.Option(
        help="open, merged or rejected")] = None, output: OutputOption = Output.text) -> None:
    """Proposals of the lab, newest first."""
    with open_lab(lab) as service:
        name = service.lab_name
        items = queries.proposals(service, status=status)
    if output is Output.json:
        print_json([p.model_dump(mode="json", exclude={"rendered_diff"}) for p in items])
        return
    table = Table(title=f"proposals of lab {name}")
    for col in ("id", "status", "risk", "changes", "title", "author", "branch"):
        table.add_column(col)
    for p in items:
        table.add_row(p.id, p.status, p.risk, counts_line(p.plan), escape(p.title), escape(p.author), p.branch)
    console.print(table)


@proposals_app.command("show")
@user_errors
def show(proposal_id: Annotated[str, typer.Argument(help="id or branch")], lab: LabOption = Path("."),
         output: OutputOption = Output.text) -> None:
    """One proposal: summary, plan, rendered diff."""
    with open_lab(lab) as service:
        p = queries.proposal(service, proposal_id)
    if output is Output.json:
        print_json(p.model_dump(mode="json"))
    else:
        print_proposal(p)


@proposals_app.command("approve")
@user_errors
def approve_cmd(proposal_id: Annotated[str, typer.Argument(help="id or branch")], lab: LabOption = Path("."),
                output: OutputOption = Output.text) -> None:
    """Merge the proposal into main; the next reconcile applies it."""
    with open_lab(lab) as service:
        result = commands.approve(service, proposal_id)
    if output is Output.json:
        print_json({"proposal": result.proposal.model_dump(mode="json", exclude={"rendered_diff"}),
                    "merged_commit": result.merged_commit, "fast_forward": result.fast_forward,
                    "worktree_updated": result.worktree_updated, "note": result.note})
        return
    how = "fast-forward" if result.fast_forward else "merge commit"
    console.print(f"[green]merged[/] proposal {result.proposal.id} into main ({how}, {result.merged_commit[:12]}); "
                  f"{result.note}")
    console.print("Apply it with `homeport apply` (or let the daemon reconcile).")


@proposals_app.command("reject")
@user_errors
def reject_cmd(proposal_id: Annotated[str, typer.Argument(help="id or branch")], lab: LabOption = Path("."),
               reason: Annotated[str | None, typer.Option(help="Why, for the record")] = None) -> None:
    """Close the proposal without merging."""
    with open_lab(lab) as service:
        p = commands.reject(service, proposal_id, reason=reason)
    console.print(f"rejected proposal {p.id} ({escape(p.title)})")


proposals_app.command("whatif")(whatif)
