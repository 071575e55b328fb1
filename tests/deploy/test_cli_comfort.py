"""CLI comfort: progress bars on a terminal (a real pseudo-terminal here), plain lines elsewhere,
NO_COLOR honoured, shell completion and `homeport version`."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path

from tests.render.lab import ROOT

HOMEPORT = str(ROOT / ".venv" / "bin" / "homeport")


def _on_a_terminal(args: list[str], timeout: float = 300) -> tuple[int, str]:
    """Run homeport with stdin/stdout/stderr on a pseudo-terminal; (exit code, everything it drew)."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([HOMEPORT, *args], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        out += data
    os.close(master)
    return proc.wait(timeout=60), out.decode(errors="replace")


def _lab(tmp_path: Path) -> Path:
    lab = tmp_path / "lab"
    subprocess.run([HOMEPORT, "init", str(lab)], check=True, capture_output=True)
    return lab


def test_apply_shows_progress_on_a_terminal_and_plain_lines_elsewhere(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    code, drawn = _on_a_terminal(["apply", "--lab", str(lab), "--auto-approve"])
    assert code == 0, drawn
    assert "applying" in drawn and "3/3" in drawn and "ETA" in drawn
    assert "applied\x1b[0m create gpu-worker" in drawn
    # the same lab on a pipe: no bar, the plain lines only
    subprocess.run([HOMEPORT, "sim", "delete", "gpu-worker", "--lab", str(lab)], check=True, capture_output=True)
    piped = subprocess.run([HOMEPORT, "apply", "--lab", str(lab), "--auto-approve"], capture_output=True, text=True)
    assert piped.returncode == 0, piped.stdout + piped.stderr
    assert "ETA" not in piped.stdout and "\x1b[" not in piped.stdout
    assert "applied create gpu-worker" in piped.stdout


def test_validate_render_shows_render_and_validate_progress(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    for name in ("jenkins", "nextcloud", "ollama-server", "dns-cache", "legacy-app", "media-lxc", "webapp",
                 "burst-inference", "azure-web"):
        path = lab / "resources" / f"{name}.yaml"
        if path.exists():
            path.unlink()  # keep the validators' run short: three resources are enough to show progress
    subprocess.run(["git", "-C", str(lab), "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qam",
                    "fewer"], check=True)
    code, drawn = _on_a_terminal(["validate", "--render", "--lab", str(lab)], timeout=900)
    assert code == 0, drawn
    assert "rendering" in drawn and "validating" in drawn and "ETA" in drawn


def test_no_color_is_honoured(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = subprocess.run([HOMEPORT, "plan", "--lab", str(lab)], capture_output=True, text=True,
                              env={**env, "FORCE_COLOR": "1"})
    assert "\x1b[32m" in coloured.stdout  # green creates when colour is forced
    plain = subprocess.run([HOMEPORT, "plan", "--lab", str(lab)], capture_output=True, text=True,
                           env={**env, "FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.returncode == 0
    assert "\x1b[3" not in plain.stdout and "\x1b[9" not in plain.stdout  # no foreground colours at all


def test_shell_completion_and_version() -> None:
    script = subprocess.run([HOMEPORT, "--show-completion", "bash"], capture_output=True, text=True)
    assert script.returncode == 0 and "_homeport_completion" in script.stdout
    words = subprocess.run([HOMEPORT], capture_output=True, text=True,
                           env={**os.environ, "_HOMEPORT_COMPLETE": "complete_bash", "COMP_WORDS": "homeport pro",
                                "COMP_CWORD": "1"})
    assert "proposals" in words.stdout.split()
    version = subprocess.run([HOMEPORT, "version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("homeport 0.1.0 (Python 3.")
