"""Driving homeport as a user and as the daemon do, shared by the providers' end-to-end tests: the CLI in this
process (Typer's runner) or in its own process, one unattended run, and the open deviations of lab `home`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import RunResult, reconcile
from reconciler.store.deviations import list_open_deviations

HOMEPORT = [str(Path(sys.executable).with_name("homeport"))]
REPO_ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> Any:
    """Run `homeport ...` in-process; the parsed JSON output (the command must succeed)."""
    exit_code, output = cli_status(*args)
    assert exit_code == 0, output
    return output


def cli_status(*args: str) -> tuple[int, Any]:
    """Run `homeport ...` in-process: (exit code, parsed JSON output), for commands expected to fail or hold back."""
    result = CliRunner().invoke(app, [*args, "--output", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


def homeport(lab: Path, *args: str, command: list[str] | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in its own process against lab."""
    return subprocess.run(
        [*(command or HOMEPORT), *args, "--lab", str(lab)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}, cwd=REPO_ROOT, timeout=240, check=False,
    )


def run_json(lab: Path, *args: str) -> dict[str, Any]:
    """A CLI command's JSON output from its own process; fails the test with the command's stderr when it fails."""
    done = homeport(lab, *args, "-o", "json")
    assert done.returncode == 0, f"homeport {' '.join(args)} exited {done.returncode}:\n{done.stderr}\n{done.stdout}"
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def actionable(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's changes that are not no-ops."""
    return [c for c in plan["changes"] if c["op"] != "noop"]


def auto_run(lab: Path) -> RunResult:
    """One unattended run, as the daemon does it (policy gate, self-heal rules)."""
    session = LabSession.open(lab, actor="test-daemon", actor_kind="daemon")
    try:
        return reconcile(session, mode=Mode.auto, trigger="test")
    finally:
        session.close()


def open_deviations(lab: Path) -> list[tuple[str, str]]:
    """(resource, field) of every open deviation recorded for lab `home`, sorted."""
    session = LabSession.open(lab)
    try:
        return sorted((d.resource, d.field_path) for d in list_open_deviations(session.db, "home"))
    finally:
        session.close()
