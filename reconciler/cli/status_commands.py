"""status, history and audit: what is running, what changed when, and who did it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

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
from reconciler.service import queries
from reconciler.service.views import RunView


def _duration(run: RunView) -> str:
    seconds = run.duration_seconds
    if seconds is None:
        return "-"
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _run_json(r: RunView) -> dict[str, Any]:
    return {"id": r.id, "status": r.status, "revision": r.revision, "trigger": r.trigger, "mode": r.mode,
            "started_at": r.started_at, "finished_at": r.finished_at, "phase_timings": r.phase_timings,
            "summary": r.summary, "error": r.error}


def _run_counts(r: RunView) -> str:
    return r.counts_text()


@user_errors
def status(lab: LabOption = Path("."), output: OutputOption = Output.text,
           runs: Annotated[int, typer.Option(help="How many recent runs to show")] = 5) -> None:
    """Each managed resource with provider, node, id, state and whether it matches; open deviations; last runs."""
    with open_lab(lab) as service:
        lab_status = queries.status(service, runs=runs)
    name, instances, deviations, recent = lab_status.lab, lab_status.instances, lab_status.deviations, lab_status.runs
    if output is Output.json:
        print_json({
            "lab": name,
            "instances": [{
                "name": i.name, "provider": i.provider, "provider_type": i.provider_type, "node": i.node,
                "provider_id": i.provider_id, "status": i.status,
                "matches": i.matches,
                "last_applied_revision": i.last_applied_revision,
                "last_attempted_revision": i.last_attempted_revision, "error": i.error,
                "state_last_checked": i.state_last_checked, "configuration": i.configuration,
                "retry": i.parameters.get("retry"),
            } for i in instances],
            "deviations": [{
                "resource": d.resource, "field": d.field, "expected": d.expected,
                "actual": d.actual, "first_seen": d.first_seen, "last_seen": d.last_seen,
                "corrective_action": d.corrective_action,
            } for d in deviations],
            "runs": [_run_json(r) for r in recent],
        })
        return
    now = datetime.now(UTC)
    live = lab_status.live
    by_status: dict[str, int] = {}
    for i in live:
        key = "drifted" if i.deviation_detected else i.status
        by_status[key] = by_status.get(key, 0) + 1
    console.print(f"[bold]lab {escape(name)}[/]: {len(live)} managed resources"
                  + (" (" + ", ".join(f"{v} {k}" for k, v in sorted(by_status.items())) + ")" if by_status else ""))
    if recent:
        last = recent[0]
        console.print(f"last run {_ago(last.started_at, now)}: {last.status} ({last.trigger}) at "
                      f"{(last.revision or '-')[:12]}, {_run_counts(last)}")
    table = Table(show_lines=False)
    for col in ("resource", "provider", "node", "id", "matches", "applied rev"):
        table.add_column(col)
    for i in live:
        matches = ("[green]yes[/]" if i.matches
                   else ("[red]drifted[/]" if i.deviation_detected else f"[yellow]{i.status}[/]"))
        applied = (i.last_applied_revision or "-")[:12]
        if i.last_attempted_revision and i.last_attempted_revision != i.last_applied_revision:
            applied += f" (tried {i.last_attempted_revision[:12]})"
        table.add_row(escape(i.name), i.provider, i.node or "-", i.provider_id or "-", matches, applied)
    console.print(table)
    notes = [i for i in live if i.error]
    if notes:
        console.print("[bold]Needs attention[/]")
        for i in notes:
            console.print(f"  [yellow]{escape(i.name)}[/] ({i.status}): {escape(i.error or '')[:300]}")
    if deviations:
        console.print("[bold]Open deviations[/] (resolve with `homeport drift propose RESOURCE --adopt|--revert`)")
        for d in deviations:
            console.print(f"  [red]{escape(d.resource)}[/] {escape(d.field)}: declared "
                          f"{escape(repr(d.expected))}, live {escape(repr(d.actual))} "
                          f"(first seen {_ago(d.first_seen, now)}, last seen {_ago(d.last_seen, now)})")
    if recent:
        console.print("[bold]Recent runs[/]")
        for r in recent:
            console.print(f"  {r.started_at:%Y-%m-%d %H:%M:%S} {r.status:<8} {r.trigger:<8} {(r.revision or '-')[:12]} "
                          f"took {_duration(r)}: {escape(_run_counts(r))}"
                          + (f" [red]{escape((r.error or '')[:160])}[/]" if r.error else ""))


def _field_text(fields: list[dict[str, Any]]) -> str:
    return ", ".join(f"{f.get('path')} {f.get('old')!r} -> {f.get('new')!r}" for f in fields[:6]) + (
        f" (+{len(fields) - 6} more)" if len(fields) > 6 else "")


@user_errors
def history(
    resource: Annotated[str | None, typer.Argument(help="Only this resource")] = None,
    lab: LabOption = Path("."),
    limit: int = 50,
    output: OutputOption = Output.text,
    runs: Annotated[bool, typer.Option("--runs", help="List reconcile runs instead of audit entries")] = False,
) -> None:
    """What changed when: applies (with the fields they changed), skips and failures, or the runs themselves."""
    with open_lab(lab) as service:
        run_rows = queries.runs(service, limit=limit) if runs else []
        rows = [] if runs else queries.audit(service, resource=resource, limit=limit)
    if runs:
        if output is Output.json:
            print_json([_run_json(r) for r in run_rows])
            return
        for run in reversed(run_rows):
            phases = ", ".join(f"{k} {v:.2f}s" for k, v in (run.phase_timings or {}).items() if v >= 0.005)
            counts = escape(_run_counts(run))
            console.print(f"{run.started_at:%Y-%m-%d %H:%M:%S} run {run.id[:8]} [bold]{run.status}[/] "
                          f"({run.trigger}) at {(run.revision or '-')[:12]} took {_duration(run)}: {counts}"
                          + (f" [dim]{escape(phases)}[/]" if phases else "")
                          + (f"\n    [red]{escape((run.error or '')[:300])}[/]" if run.error else ""))
        return
    if output is Output.json:
        print_json([{"seq": r.seq, "time": r.time, "actor": r.actor, "action": r.action, "entity": r.entity,
                     "outcome": r.outcome, "tool": r.tool, "run_id": r.run_id, "arguments": r.arguments,
                     "result": r.result} for r in rows])
        return
    if not rows:
        console.print(f"nothing recorded{' for ' + escape(resource) if resource else ''} yet")
    for r in rows:
        detail = r.result.get("message") or r.result.get("reason") or r.result.get("error") or ""
        fields = r.arguments.get("fields") if isinstance(r.arguments, dict) else None
        if not detail and isinstance(r.arguments, dict) and r.arguments.get("title"):
            detail = str(r.arguments["title"])
        if isinstance(fields, list) and fields and r.outcome == "ok" and r.action not in ("create", "delete"):
            detail = f"{detail}; {_field_text(fields)}" if detail else _field_text(fields)
        rev = r.arguments.get("revision") if isinstance(r.arguments, dict) else None
        colour = {"ok": "green", "error": "red", "refused": "red", "transient-error": "red",
                  "skipped": "yellow"}.get(r.outcome, "dim")
        console.print(f"{r.time:%Y-%m-%d %H:%M:%S} [{colour}]{r.action}[/] {escape(r.entity)}"
                      + (f" @{str(rev)[:12]}" if rev else "") + f" by {escape(r.actor)}: {escape(str(detail))[:200]}")


audit_app = typer.Typer(help="The audit trail: list it, verify its hash chain.", no_args_is_help=True)


@audit_app.command("list")
@user_errors
def audit_list(lab: LabOption = Path("."), limit: int = 50, output: OutputOption = Output.text) -> None:
    """The newest audit rows."""
    history(None, lab, limit, output, False)


@audit_app.command("verify")
@user_errors
def audit_verify(lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Recompute the hash chain; exit 1 if any row was edited, removed or reordered."""
    with open_lab(lab) as service:
        report = queries.verify_audit(service)
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
