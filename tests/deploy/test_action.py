"""The GitHub Action for lab repositories (action.yml), run here step by step the way a runner runs it:
the same scripts, the runner's environment variables, a GitHub-shaped comments API on 127.0.0.1.
The metadata is checked against the github-action schema, the workflows with actionlint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.githubsim import GitHubComments
from tests.render.lab import ROOT
from tests.render.test_workflow import actionlint

ACTION = ROOT / "action.yml"
SCRIPTS = ROOT / "scripts" / "action"
VENV_BIN = ROOT / ".venv" / "bin"
REPO, TOKEN = "me/homelab", "ghp_test_token"


def _runner_env(tmp: Path, workspace: Path, api: str = "http://127.0.0.1:9") -> dict[str, str]:
    """What a GitHub runner sets for a composite action's steps (the subset the scripts read)."""
    temp = tmp / "runner-temp"
    temp.mkdir(exist_ok=True)
    event = tmp / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": "f" * 40}}}), encoding="utf-8")
    files = {name: tmp / name for name in ("output", "summary", "env", "path")}
    for f in files.values():
        f.touch()
    return {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp), "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace), "GITHUB_ACTION_PATH": str(ROOT), "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(files["output"]), "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "GITHUB_ENV": str(files["env"]), "GITHUB_PATH": str(files["path"]), "GITHUB_EVENT_PATH": str(event),
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": api,
        "GITHUB_SHA": "f" * 40, "GITHUB_TOKEN": TOKEN,
    }


def _outputs(env: dict[str, str]) -> dict[str, str]:
    lines = Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _lab(tmp: Path) -> Path:
    """A lab repository as `homeport init` makes it: the PR's work tree checked out by actions/checkout."""
    lab = tmp / "lab"
    subprocess.run([str(VENV_BIN / "homeport"), "init", str(lab)], check=True, capture_output=True)
    return lab


def _plan_step(env: dict[str, str], lab_input: str = ".", *, render: bool = False) -> subprocess.CompletedProcess[str]:
    """plan.sh; render=False is the action's `render: "false"` input (charts are rendered, through every
    validator, in one test only: ansible-lint alone takes minutes on a busy 2-core machine)."""
    inputs = {"HOMEPORT_ACTION_LAB": lab_input, "HOMEPORT_ACTION_RENDER": "true" if render else "false"}
    return subprocess.run([str(SCRIPTS / "plan.sh")], env={**env, **inputs},
                          capture_output=True, text=True, timeout=1500)


def _comment_step(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    body = Path(env["RUNNER_TEMP"]) / "homeport-plan.md"
    return subprocess.run([sys.executable, str(SCRIPTS / "pr_comment.py"), str(body)], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(1800)
def test_action_plans_the_pull_request_and_keeps_one_comment(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    with GitHubComments(REPO, TOKEN) as github:
        env = _runner_env(tmp_path, lab, github.url)
        step = _plan_step(env, render=True)
        assert step.returncode == 0, step.stdout + step.stderr
        assert _outputs(env) == {"exit-code": "2", "has-changes": "true"}
        body = (Path(env["RUNNER_TEMP"]) / "homeport-plan.md").read_text(encoding="utf-8")
        assert body.startswith("<!-- homeport-plan -->\n### homeport plan for `home`")
        assert "3 to create" in body and "**create** `gpu-worker`" in body
        assert body in Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
        assert not (lab / ".homeport").exists(), "the lab checkout must stay untouched (state lives in RUNNER_TEMP)"

        first = _comment_step(env)
        assert first.returncode == 0, first.stdout
        assert "created comment" in first.stdout
        # A new push: the PR now deletes a resource; the same comment is updated, not a second one added.
        (lab / "resources" / "web-frontend.yaml").unlink()
        second_run = _runner_env(tmp_path, lab, github.url)
        assert _plan_step(second_run).returncode == 0
        second = _comment_step(second_run)
        assert "updated comment" in second.stdout, second.stdout
        assert len(github.comments) == 1
        (comment,) = github.comments.values()
        assert comment["issue"] == 7 and "2 to create" in comment["body"] and "web-frontend" not in comment["body"]


def test_action_reports_a_lab_that_does_not_validate(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    broken = lab / "resources" / "gpu-worker.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("resource_type:", "resource_typo:"), encoding="utf-8")
    with GitHubComments(REPO, TOKEN) as github:
        env = _runner_env(tmp_path, lab, github.url)
        step = _plan_step(env)
        assert step.returncode == 0
        assert _outputs(env)["exit-code"] == "1"
        body = (Path(env["RUNNER_TEMP"]) / "homeport-plan.md").read_text(encoding="utf-8")
        assert "does not validate" in body and "gpu-worker.yaml" in body and "resource_typo" in body
        assert _comment_step(env).returncode == 0
        assert len(github.comments) == 1


def test_action_says_where_the_lab_is_missing(tmp_path: Path) -> None:
    workspace = tmp_path / "empty"
    workspace.mkdir()
    env = _runner_env(tmp_path, workspace)
    step = _plan_step(env, "labs/home")
    assert step.returncode == 0
    assert _outputs(env)["exit-code"] == "1"
    assert "set the action's lab input" in step.stdout


def test_comment_with_a_refused_token_is_a_clear_error(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    with GitHubComments(REPO, "another-token") as github:
        env = _runner_env(tmp_path, lab, github.url)
        assert _plan_step(env).returncode == 0
        result = _comment_step(env)
        assert result.returncode == 1
        assert "GitHub answered 401" in result.stdout and "pull-requests: write" in result.stdout
        assert TOKEN not in result.stdout + result.stderr
        assert github.comments == {}


def test_action_metadata_matches_the_github_action_schema() -> None:
    proc = subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions",
                           str(ACTION)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    for step in steps:
        for word in ("install.sh", "plan.sh", "pr_comment.py"):
            if word in step.get("run", ""):
                assert (SCRIPTS / word).exists()
    assert any("pr_comment.py" in s.get("run", "") for s in steps)


def test_a_lab_from_homeport_init_uses_the_action_and_passes_actionlint(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    workflow = lab / ".github" / "workflows" / "homeport.yml"
    text = workflow.read_text(encoding="utf-8")
    assert "uses: homeport-lab/homeport@" in text and "pull-requests: write" in text
    assert actionlint(workflow) == []
    proc = subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           str(workflow)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_homeports_own_workflow_uses_its_action() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "validate.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["validate"]["steps"]
    assert any(s.get("uses") == "./" and s.get("with", {}).get("lab") == "desired-state" for s in steps)


def test_install_step_builds_homeport_from_the_action_checkout(tmp_path: Path) -> None:
    """Step 1 with a Python like setup-python's (a venv, so pip may install): homeport from this checkout."""
    if shutil.which("python3.11") is None:
        pytest.fail("python3.11 is needed (the action's default python-version)")
    subprocess.run(["python3.11", "-m", "venv", str(tmp_path / "py")], check=True)
    env = _runner_env(tmp_path, tmp_path)
    env["PATH"] = f"{tmp_path / 'py' / 'bin'}:/usr/bin:/bin"
    env["HOMEPORT_ACTION_VENV"] = str(tmp_path / "homeport-venv")
    for key in ("PIP_CERT", "SSL_CERT_FILE", "PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL",
                "UV_CACHE_DIR", "XDG_CACHE_HOME"):
        if key in os.environ:
            env[key] = os.environ[key]
    env["UV_CACHE_DIR"] = os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
    proc = subprocess.run([str(SCRIPTS / "install.sh")], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().startswith("homeport 0.")
    assert Path(env["GITHUB_PATH"]).read_text(encoding="utf-8").strip() == f"{tmp_path / 'homeport-venv'}/bin"
    assert f"HOMEPORT_ACTION_PYTHON={tmp_path / 'homeport-venv'}/bin/python" in Path(env["GITHUB_ENV"]).read_text()
