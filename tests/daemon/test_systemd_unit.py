"""The shipped systemd unit passes `systemd-analyze verify` (with ExecStart pointed at this venv's homeport)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "homeport.service"


def test_unit_file_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run `make test-deps` (scripts/install-test-deps.sh installs systemd)"
    text = UNIT.read_text()
    assert "ExecStart=/opt/homeport/.venv/bin/homeport daemon" in text and "ExecReload=/bin/kill -HUP $MAINPID" in text
    unit = tmp_path / "homeport.service"
    unit.write_text(text.replace("/opt/homeport/.venv/bin/homeport", str(Path(sys.executable).parent / "homeport")))
    done = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=120)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "homeport.service" in line]
    assert done.returncode == 0 and problems == [], done.stdout + done.stderr
