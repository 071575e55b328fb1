"""`homeport drill rebuild`: would Git alone bring the lab back? (a scratch lab of simulated nodes); `drill list`
and `drill show ID`: the stored reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.common import LabOption, Output, OutputOption, console, escape, open_lab, print_json, user_errors
from reconciler.service import pages
from reconciler.service.drill import RebuildDrillReport, drill_report, rebuild_drill

drill_app = typer.Typer(help="Drills on a throwaway scratch lab: nothing touches the real providers.",
                        no_args_is_help=True)


@drill_app.command("rebuild")
@user_errors
def rebuild(from_snapshot: Annotated[str | None, typer.Option(
                "--from-snapshot", help="Snapshot id (or prefix) whose nodes to simulate; default: the latest")] = None,
            lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Apply main onto simulated copies of the snapshot's nodes (no guests) and say, per resource, whether
    Git alone restores it and why not; the report is stored (`homeport drill list`). Exit 0 when everything is
    rebuildable, 1 when something is not."""
    with open_lab(lab, actor="drill") as service:
        report = rebuild_drill(service, snapshot_id=from_snapshot)
    print_report(report, output)
    if report.rebuildable < report.total:
        raise typer.Exit(1)


def print_report(report: RebuildDrillReport, output: Output) -> None:
    """A drill report as text for people or JSON for scripts."""
    if output is Output.json:
        print_json(report.model_dump(mode="json"))
        return
    where = f"snapshot {report.snapshot_id[:12]} ({escape(report.snapshot_name or '')})" \
        if report.snapshot_id else "no snapshot"
    console.print(f"rebuild drill of lab {escape(report.lab)} at {report.revision[:12]} on the nodes of {where}")
    for item in report.items:
        if item.status == "not in the drill":
            continue
        mark = "[green]restored[/]" if item.status == "restored" else "[red]not restorable[/]"
        console.print(f"  {mark} {escape(item.resource)} ({escape(item.provider)}"
                      + (f" on {escape(item.node)}" if item.node else "") + ")")
        for reason in item.reasons:
            console.print(f"      {reason.kind}: {escape(reason.message)}")
        for note in item.notes:
            console.print(f"      [dim]note: {escape(note)}[/]")
    skipped = [i.resource for i in report.items if i.status == "not in the drill"]
    if skipped:
        console.print(f"  [dim]not in the drill (provider disabled): {escape(', '.join(skipped))}[/]")
    for note in report.notes:
        console.print(f"  [dim]note: {escape(note)}[/]")
    console.print(f"[bold]{report.score}[/] ({report.seconds:.1f} s, scratch lab removed)")
    if report.id:
        console.print(f"[dim]report {report.id[:12]} stored: `homeport drill show {report.id[:12]}`[/]")


@drill_app.command("list")
@user_errors
def list_(lab: LabOption = Path("."), limit: Annotated[int, typer.Option(min=1, max=500, help="How many")] = 20,
          output: OutputOption = Output.text) -> None:
    """Stored drill reports, newest first: id, when, score, revision, snapshot."""
    with open_lab(lab) as service:
        rows = pages.drills(service, limit=limit)
    if output is Output.json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        console.print("no drill reports yet: `homeport drill rebuild`")
    for r in rows:
        when = f"{r.created_at:%Y-%m-%d %H:%M:%S}" if r.created_at else "-"
        snap = f" snapshot {r.snapshot_id[:12]}" if r.snapshot_id else ""
        by = escape(r.created_by or "-")
        console.print(f"{r.id[:12]} {when} {escape(r.score)} rev {r.revision[:12]}{snap} by {by}")


@drill_app.command("show")
@user_errors
def show(drill_id: Annotated[str, typer.Argument(help="Report id or a unique prefix of it")],
         lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """One stored drill report, as `drill rebuild` printed it."""
    with open_lab(lab) as service:
        report = drill_report(service, drill_id)
    print_report(report, output)
