"""A validator whose tool is not installed says so (what to install), never a traceback: checked in a
real environment that shares homeport's packages but not the tools' executables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.render.lab import ROOT

PROBE = """
import json, sys
from reconciler.render.validators import validator_for
issues = validator_for("ansible")("playbook.yml", "- name: Probe\\n  hosts: all\\n  tasks: []\\n")
print(json.dumps([i.model_dump() for i in issues]))
"""


def make_env_without_tool_binaries(folder: Path) -> Path:
    """A venv layout whose bin/ holds only python: homeport's site-packages, none of the console scripts."""
    base = Path(os.path.realpath(sys.executable))
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").symlink_to(base)
    shutil.copy(Path(sys.prefix) / "pyvenv.cfg", folder / "pyvenv.cfg")
    lib = folder / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    lib.mkdir(parents=True)
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (lib / "site-packages").symlink_to(site)
    return folder / "bin" / "python"


def test_missing_ansible_playbook_is_reported_not_raised(tmp_path: Path) -> None:
    python = make_env_without_tool_binaries(tmp_path / "env")
    proc = subprocess.run([str(python), "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/nonexistent", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    issues = json.loads(proc.stdout)
    assert [i["severity"] for i in issues] == ["unavailable", "unavailable"]
    messages = " | ".join(i["message"] for i in issues)
    assert "validator ansible-playbook --syntax-check not installed" in messages and "(ansible-core)" in messages
    assert "validator ansible-lint not installed" in messages
