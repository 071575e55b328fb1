"""Labs for foundation tests: a real Git repository made by `homeport init`, edited by real commits."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.source.scaffold import create_lab

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "tester",
    "GIT_AUTHOR_EMAIL": "t@localhost",
    "GIT_COMMITTER_NAME": "tester",
    "GIT_COMMITTER_EMAIL": "t@localhost",
}

SIM_ONLY_LAB = """\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {name: mini}
spec:
  providers:
    lab: {type: sim, nodes: [n1, n2]}
  reconcile: {prune: true, self_heal: false, max_prune_fraction: 0.5}
"""

POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: compute}
spec:
  path: /lab/compute
  provider: lab
  nodes: [n1, n2]
"""


def resource(name: str, cpu: int = 2, memory_gb: float = 4, extra: str = "") -> str:
    """A sim resource document."""
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  pool: /lab/compute
  requirements: {{cpu: {cpu}, memory_gb: {memory_gb}}}
{extra}"""


def new_example_lab(tmp_path: Path) -> Path:
    """`homeport init` into tmp_path/lab."""
    lab = tmp_path / "lab"
    create_lab(lab)
    return lab


def new_mini_lab(tmp_path: Path, resources: dict[str, str] | None = None) -> Path:
    """A small sim-only lab committed on main."""
    lab = tmp_path / "mini"
    lab.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(lab)], check=True, env=GIT_ENV)
    files = {"homeport.yaml": SIM_ONLY_LAB, "pools/compute.yaml": POOL}
    for name, text in (resources or {"a": resource("a"), "b": resource("b")}).items():
        files[f"resources/{name}.yaml"] = text
    commit(lab, files, "mini lab")
    return lab


def commit(lab: Path, files: dict[str, str | None], message: str) -> str:
    """Write (or delete, for None) files in the work tree and commit them on the current branch."""
    for rel, text in files.items():
        path = lab / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    subprocess.run(["git", "-C", str(lab), "add", "-A"], check=True, env=GIT_ENV)
    subprocess.run(["git", "-C", str(lab), "commit", "-q", "-m", message], check=True, env=GIT_ENV)
    out = subprocess.run(
        ["git", "-C", str(lab), "rev-parse", "HEAD"], check=True, env=GIT_ENV, capture_output=True, text=True
    )
    return out.stdout.strip()


def homeport(*args: str) -> tuple[int, str]:
    """Run the CLI in process; return (exit code, stdout + stderr)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output
