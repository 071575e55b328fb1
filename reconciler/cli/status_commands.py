"""status, history and audit: what is running, what changed when, and who did it."""

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
    open_session,
    print_json,
    user_errors,
)
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.store.audit import recent_audit, verify_chain
from reconciler.store.deviations import list_open_deviations
from reconciler.store.instances import list_instances
from reconciler.store.runs import recent_runs


def _lab_name(lab: Path) -> str:
    session = open_session(lab)
    try:
        return load(session, fetch(session, None)).lab_name
    finally:
        session.close()


@user_errors
def status(lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Each managed resource with provider, node, id, state and whether it matches; open deviations; last runs."""
    name = _lab_name(lab)
    session = open_session(lab)
    try:
        instances = list_instances(session.db, name)
        deviations = list_open_deviations(session.db, name)
        runs = recent_runs(session.db, name, limit=5)
    finally:
        session.close()
    if output is Output.json:
        print_json(
            {
                "lab": name,
                "instances": [
                    {
                        "name": i.name,
                        "provider": i.provider,
                        "provider_type": i.provider_type,
                        "node": i.node,
                        "provider_id": i.provider_id,
                        "status": i.status,
                        "matches": not i.deviation_detected and i.status == "running",
                        "last_applied_revision": i.last_applied_revision,
                        "last_attempted_revision": i.last_attempted_revision,
                        "error": i.error_message,
                        "configuration": i.configuration,
                    }
                    for i in instances
                ],
                "deviations": [
                    {
                        "resource": d.resource,
                        "field": d.field_path,
                        "expected": d.expected_value,
                        "actual": d.actual_value,
                        "first_seen": d.detected_at,
                        "last_seen": d.last_seen_at,
                    }
                    for d in deviations
                ],
                "runs": [
                    {
                        "id": r.id,
                        "status": r.status,
                        "revision": r.revision,
                        "trigger": r.trigger,
                        "started_at": r.started_at,
                        "summary": r.summary,
                    }
                    for r in runs
                ],
            }
        )
        return
    table = Table(title=f"lab {name}", show_lines=False)
    for col in ("resource", "provider", "node", "id", "state", "matches", "applied rev"):
        table.add_column(col)
    for i in instances:
        if i.status == "deleted":
            continue
        matches = (
            "[green]yes[/]"
            if i.status == "running" and not i.deviation_detected
            else ("[red]drifted[/]" if i.deviation_detected else f"[yellow]{i.status}[/]")
        )
        table.add_row(
            i.name,
            f"{i.provider} ({i.provider_type})",
            i.node or "-",
            i.provider_id or "-",
            i.status,
            matches,
            (i.last_applied_revision or "-")[:12],
        )
    console.print(table)
    if deviations:
        console.print("[bold]Open deviations[/]")
        for d in deviations:
            console.print(
                f"  [red]{d.resource}[/] {escape(d.field_path)}: declared {escape(repr(d.expected_value))}, "
                f"live {escape(repr(d.actual_value))} (since {d.detected_at:%Y-%m-%d %H:%M:%S})"
            )
    for r in runs:
        console.print(
            f"[dim]run {r.started_at:%Y-%m-%d %H:%M:%S} {r.trigger} {r.status} "
            f"{(r.revision or '')[:12]} {escape(str(r.error or ''))[:120]}[/]"
        )


@user_errors
def history(
    resource: Annotated[str | None, typer.Argument(help="Only this resource")] = None,
    lab: LabOption = Path("."),
    limit: int = 50,
    output: OutputOption = Output.text,
) -> None:
    """What changed when: audit rows of applies, skips and failures (optionally for one resource)."""
    name = _lab_name(lab)
    session = open_session(lab)
    try:
        rows = recent_audit(session.db, name, limit=2000 if resource else limit)
    finally:
        session.close()
    if resource:
        rows = [r for r in rows if r.entity_id == resource][-limit:]
    if output is Output.json:
        print_json(
            [
                {
                    "seq": r.seq,
                    "time": r.timestamp,
                    "actor": r.actor,
                    "action": r.action,
                    "entity": r.entity_id,
                    "outcome": r.outcome,
                    "tool": r.tool,
                    "arguments": r.arguments,
                    "result": r.result,
                }
                for r in rows
            ]
        )
        return
    for r in rows:
        detail = r.result.get("message") or r.result.get("reason") or r.result.get("error") or ""
        console.print(
            f"{r.timestamp:%Y-%m-%d %H:%M:%S} [bold]{r.action}[/] {r.entity_id} by {escape(r.actor)} "
            f"[dim]{r.outcome}[/] {escape(str(detail))[:160]}"
        )


audit_app = typer.Typer(help="The audit trail: list it, verify its hash chain.", no_args_is_help=True)


@audit_app.command("list")
@user_errors
def audit_list(lab: LabOption = Path("."), limit: int = 50, output: OutputOption = Output.text) -> None:
    """The newest audit rows."""
    history(None, lab, limit, output)


@audit_app.command("verify")
@user_errors
def audit_verify(lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Recompute the hash chain; exit 1 if any row was edited, removed or reordered."""
    session = open_session(lab)
    try:
        report = verify_chain(session.db)
    finally:
        session.close()
    if output is Output.json:
        print_json(
            {"rows": report.rows, "ok": report.ok, "first_bad_seq": report.first_bad_seq, "problem": report.problem}
        )
    elif report.ok:
        console.print(f"[green]audit chain intact[/]: {report.rows} rows")
    else:
        console.print(f"[red]audit chain broken[/] at row {report.first_bad_seq}: {report.problem}")
    if not report.ok:
        raise typer.Exit(1)
