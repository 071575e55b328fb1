"""`homeport demo`: the whole loop on the simulator in a temporary lab, printed for a person."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.common import Output, console, open_lab, user_errors
from reconciler.cli.lab_commands import init, validate
from reconciler.cli.plan_commands import apply, plan, print_run
from reconciler.cli.proposal_demo import PROPOSAL_STEP, propose_merge_reconcile
from reconciler.cli.sim_commands import drift
from reconciler.cli.status_commands import history, status
from reconciler.models.plan import Mode
from reconciler.service import commands


def _step(title: str, command: str) -> None:
    console.rule(f"[bold cyan]{title}")
    console.print(f"[dim]$ {command}[/]")


def _call(fn: Callable[[], None]) -> None:
    try:
        fn()
    except typer.Exit as exc:
        if exc.exit_code not in (0, 2):
            raise


def _reconcile_as_daemon(lab: Path) -> None:
    with open_lab(lab, actor="daemon") as service:
        print_run(commands.apply(service, mode=Mode.auto, trigger="demo"), Output.text)


@user_errors
def demo(directory: Annotated[Path | None, typer.Option("--dir", help="Where to create the demo lab")] = None) -> None:
    """Init a lab, plan, apply, cause drift, see it, reconcile it away, show status and the audit trail."""
    lab = directory or Path(tempfile.mkdtemp(prefix="homeport-demo-")) / "lab"
    _step("1. Create a lab (a Git repository holding the example lab)", f"homeport init {lab}")
    _call(lambda: init(lab))
    _step("2. Validate the desired state at main", f"homeport validate --lab {lab}")
    _call(lambda: validate(lab))
    _step("3. Plan: what applying main would change", f"homeport plan --lab {lab}")
    _call(lambda: plan(lab))
    _step(
        "4. Apply (a person approves; --auto-approve stands in for typing yes)",
        f"homeport apply --lab {lab} --auto-approve",
    )
    _call(lambda: apply(lab, auto_approve=True))
    _step("5. A second plan shows only no-ops, each with its reason", f"homeport plan --lab {lab}")
    _call(lambda: plan(lab))
    _step(PROPOSAL_STEP, "")
    propose_merge_reconcile(lab)
    _step("6. Status", f"homeport status --lab {lab}")
    _call(lambda: status(lab))
    _step(
        "7. Someone changes web-frontend behind homeport's back", f"homeport sim drift web-frontend cpu=8 --lab {lab}"
    )
    _call(lambda: drift("web-frontend", ["cpu=8"], lab))
    _step("8. The plan shows the deviation", f"homeport plan --lab {lab}")
    _call(lambda: plan(lab))
    _step(
        "9. The reconciler runs (as the daemon would): web-frontend has sync.self_heal: true", "homeport daemon --once"
    )
    _reconcile_as_daemon(lab)
    _step("10. Status after self-heal", f"homeport status --lab {lab}")
    _call(lambda: status(lab))
    _step("11. The audit trail", f"homeport history --lab {lab}")
    _call(lambda: history(None, lab, 30, Output.text))
    console.rule("[bold green]demo finished")
    console.print(f"The lab is at {lab}; try: homeport plan --lab {lab}")
