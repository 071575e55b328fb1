"""A lab whose branch is not called main: say what is there and what to do, and honour spec.main_branch."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.foundation.labkit import GIT_ENV, POOL, SIM_ONLY_LAB, commit, homeport, resource


def _master_lab(tmp_path: Path, lab_yaml: str = SIM_ONLY_LAB) -> Path:
    """What a new user gets with `git init` on a machine whose default branch is master."""
    lab = tmp_path / "lab"
    lab.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "master", str(lab)], check=True, env=GIT_ENV)
    commit(lab, {"homeport.yaml": lab_yaml, "pools/compute.yaml": POOL, "resources/a.yaml": resource("a")}, "lab")
    return lab


def test_plan_on_a_master_branch_says_what_is_there_and_what_to_do(tmp_path: Path) -> None:
    lab = _master_lab(tmp_path)
    code, out = homeport("plan", "--lab", str(lab))
    assert code == 1
    text = " ".join(out.split())
    assert "commit your lab first" not in text  # the lab is committed; that advice was wrong
    assert "no branch 'main'" in text and "its branches: master" in text
    assert "spec.main_branch: master" in text and "git branch -m master main" in text
    for command in (("status",), ("validate",), ("snapshot", "list"), ("proposals", "list")):
        code, out = homeport(*command, "--lab", str(lab))
        assert code == 1 and "spec.main_branch: master" in " ".join(out.split()), (command, out)


def test_spec_main_branch_master_is_honoured(tmp_path: Path) -> None:
    lab = _master_lab(tmp_path, SIM_ONLY_LAB.replace("spec:\n", "spec:\n  main_branch: master\n"))
    code, out = homeport("plan", "--lab", str(lab), "--detailed-exitcode")
    assert code == 2, out
    assert "a" in out and "create" in out
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    code, out = homeport("validate", "--lab", str(lab))
    assert code == 0 and "valid" in out


def test_renaming_the_branch_to_main_works(tmp_path: Path) -> None:
    lab = _master_lab(tmp_path)
    subprocess.run(["git", "-C", str(lab), "branch", "-m", "master", "main"], check=True, env=GIT_ENV)
    code, out = homeport("plan", "--lab", str(lab), "--detailed-exitcode")
    assert code == 2, out


def test_an_empty_repository_says_commit_first(tmp_path: Path) -> None:
    lab = tmp_path / "empty"
    lab.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(lab)], check=True, env=GIT_ENV)
    code, out = homeport("plan", "--lab", str(lab))
    assert code == 1 and "no commits yet" in out and "git commit" in out
