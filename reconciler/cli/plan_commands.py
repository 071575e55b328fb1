"""plan and apply: what would change, and changing it with a person's approval."""

from __future__ import annotations

import sys
from enum import StrEnum
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
from reconciler.cli.plan_markdown import plan_markdown
from reconciler.cli.planview import plan_json, print_plan
from reconciler.cli.progress import progress_bar
from reconciler.models.plan import Mode, Plan
from reconciler.models.progress import Stage
from reconciler.service import commands
from reconciler.service.views import RunReport

RefOption = Annotated[str | None, typer.Option(help="Branch or commit to plan (default: main)")]
FullOption = Annotated[
    bool,
    typer.Option("--full", help="Load, render, observe and diff every resource even when the no-op index says "
                               "nothing changed since the last converged run"),
]


class PlanOutput(StrEnum):
    """What `plan` prints: text for people, json for scripts, markdown for a pull-request comment."""

    text = "text"
    json = "json"
    markdown = "markdown"


@user_errors
def plan(
    lab: LabOption = Path("."),
    ref: RefOption = None,
    output: Annotated[PlanOutput, typer.Option("--output", "-o", help="text, json, or markdown (a PR comment)")] = (
        PlanOutput.text
    ),
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes, 0 when none")
    ] = False,
    auto: Annotated[bool, typer.Option("--as-daemon", help="Gate as the daemon would (policy, windows, risk)")] = False,
    provider_preview: Annotated[
        bool,
        typer.Option(
            "--provider-preview",
            help="Also ask providers for their own preview (a CloudFormation change set: created, never executed)",
        ),
    ] = False,
    full: FullOption = False,
) -> None:
    """Show what applying would change; read only."""
    with open_lab(lab) as service:
        result = commands.plan(service, ref=ref, mode=Mode.auto if auto else Mode.manual,
                               provider_previews=provider_preview, full=full)
    if output is PlanOutput.json:
        print_json(plan_json(result.plan))
    elif output is PlanOutput.markdown:
        sys.stdout.write(plan_markdown(result.plan, ref=result.ref))
    else:
        print_plan(console, result.plan, ref=result.ref)
        for w in result.plan.warnings:
            if "is disabled" in w:
                continue
            console.print(f"[dim]note: {escape(w)}[/]")
        if result.skipped_by_index:
            console.print(f"[dim]nothing changed since the last converged run: {result.skipped_by_index} resources "
                          "planned from the no-op index (--full recomputes)[/]")
    if detailed_exitcode and result.plan.has_changes:
        raise typer.Exit(2)


def print_run(result: RunReport, output: Output) -> None:
    """A run's outcome."""
    if output is Output.json:
        print_json(
            {
                "run_id": result.run_id,
                "status": result.status,
                "exit_code": apply_exit_code(result),
                "held_back": [
                    {"resource": c.resource, "op": c.op.value, "reason": c.blocked}
                    for c in (result.plan.held_back if result.plan is not None else [])
                ],
                "revision": result.revision,
                "counts": result.counts,
                "error": result.error,
                "notes": result.notes,
                "timings": result.timings,
                "skipped_by_index": result.skipped_by_index,
                "outcomes": [
                    {
                        "resource": o.resource,
                        "op": o.op,
                        "status": o.status,
                        "message": o.message,
                        "attempts": o.attempts,
                    }
                    for o in result.outcomes
                ],
            }
        )
        return
    for note in result.notes:
        console.print(f"[dim]{escape(note)}[/]")
    for o in result.outcomes:
        colour = "green" if o.status == "applied" else "red"
        console.print(f"  [{colour}]{o.status}[/] {o.op} {o.resource}: {escape(o.message)}")
    colour = {"ok": "green", "partial": "yellow", "declined": "yellow", "skipped": "yellow"}.get(result.status, "red")
    held = len(result.plan.held_back) if result.plan is not None and result.status != "declined" else 0
    console.print(
        f"[{colour}]run {result.status}[/]"
        + (f" at {result.revision[:12]}" if result.revision else "")
        + (f": {held} held back, not applied" if held else "")
        + (f": {escape(result.error)}" if result.error else "")
    )


@user_errors
def apply(
    lab: LabOption = Path("."),
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Apply without asking")] = False,
    output: OutputOption = Output.text,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            min=0,
            help="Seconds to wait for another run of the lab to finish (default 0: exit 5 at once)",
        ),
    ] = 0.0,
    full: FullOption = False,
) -> None:
    """Apply the main branch's plan after you approve it (as `terraform apply`)."""
    interactive = sys.stdin.isatty()
    if not auto_approve and not interactive:
        raise ValueError("not on a terminal: nothing can ask for approval; run with --auto-approve to apply")

    def approve(p: Plan) -> bool:
        if output is Output.text:
            print_plan(console, p)
        if auto_approve:
            return True
        return typer.confirm("Apply these changes?", default=False)

    with open_lab(lab) as service, progress_bar(console, Stage.apply, enabled=output is Output.text) as shown, \
            service.reporting(shown):
        result = commands.apply(
            service, mode=Mode.manual, trigger="cli-apply", approve=approve, lock_timeout=lock_timeout, full=full
        )
    if result.plan is not None and not result.plan.has_changes and output is Output.text:
        console.print("Nothing to change.")
    print_run(result, output)
    code = apply_exit_code(result)
    if code:
        raise typer.Exit(code)


# `homeport apply` exit codes (README "The command line"), distinct as `terraform plan -detailed-exitcode`'s
EXIT_APPLIED = 0  # everything the plan showed was applied, or there was nothing to do (or you declined)
EXIT_ERROR = 1  # nothing was applied: invalid desired state, bad input, or every change failed
EXIT_FAILED_PARTLY = 3  # some changes were applied and some failed
EXIT_HELD_BACK = 4  # nothing failed, but changes were held back (no capacity, preflight, dependency, policy)
EXIT_BUSY = 5  # another run holds the lab's lock: nothing was applied


def apply_exit_code(result: RunReport) -> int:
    """The exit code of `homeport apply` for a run."""
    failed = [o for o in result.outcomes if o.status == "failed"]
    if result.status == "skipped":
        return EXIT_BUSY
    if result.status == "declined":
        return EXIT_APPLIED
    if result.status in ("failed", "invalid"):
        return EXIT_ERROR
    if failed:
        return EXIT_FAILED_PARTLY
    if result.status == "partial" or (result.plan is not None and result.plan.held_back):
        return EXIT_HELD_BACK
    return EXIT_APPLIED
