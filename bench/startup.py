"""Start-up: `homeport --help`, a no-op `homeport plan` of the example lab, `homeport-mcp` spawn -> initialize.

Usage: python bench/startup.py [--repeat 3]
Each figure is the median wall time of fresh processes, with the bytecode cache (as installed) and
without one (PYTHONDONTWRITEBYTECODE and an empty PYTHONPYCACHEPREFIX: a fresh install's first run).
The plan runs on a lab made by `homeport init` whose database already exists (the first plan made it),
so no migration runs; then once more after applying it (the plan answered from the no-op index). Also
the size of `tools/list` at the default toolsets and scopes. Targets from issue 21: help <= 0.3 s,
plan <= 0.8 s, either without bytecode <= 3 s, spawn -> initialize <= 0.5 s, tools/list <= 40 KB.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import report

BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def mcp_initialize(lab: Path, env: dict[str, str]) -> tuple[float, int]:
    """Seconds from spawn to the initialize answer, and the bytes of the tools/list answer."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "homeport-mcp"), "--lab", str(lab)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdin is not None and proc.stdout is not None

    def send(message: dict[str, object]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()

    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
    proc.stdout.readline()
    elapsed = time.perf_counter() - started
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    size = len(proc.stdout.readline().encode())
    proc.stdin.close()
    proc.wait(timeout=60)
    return elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="homeport-bench-startup-") as tmp:
        lab = Path(tmp) / "lab"
        subprocess.run([str(BIN / "homeport"), "init", str(lab)], check=True, capture_output=True)
        subprocess.run([str(BIN / "homeport"), "plan"], cwd=lab, check=True, capture_output=True)
        cached = dict(os.environ)
        fresh = {**cached, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(Path(tmp) / "no-pycache")}
        for label, env, help_target, plan_target in (("", cached, 0.3, 0.8), (", no bytecode", fresh, 3.0, 3.0)):
            runs = 1 if env is fresh else args.repeat
            help_s = statistics.median(timed([str(BIN / "homeport"), "--help"], lab, env) for _ in range(runs))
            report(f"homeport --help{label}", help_s, "s", help_target)
            plan_s = statistics.median(timed([str(BIN / "homeport"), "plan"], lab, env) for _ in range(runs))
            report(f"homeport plan, example lab{label}", plan_s, "s", plan_target)
        # The same lab once applied: the next run finds it converged and writes the no-op index, so a plan answers
        # from it (docs/noop-index.md) -- the no-op plan of a lab someone actually runs.
        for _ in range(2):
            subprocess.run([str(BIN / "homeport"), "apply", "--auto-approve"], cwd=lab, check=True, capture_output=True)
        plan_s = statistics.median(timed([str(BIN / "homeport"), "plan"], lab, cached) for _ in range(args.repeat))
        report("homeport plan, example lab applied (no-op index)", plan_s, "s", 0.8)
        spawns = [mcp_initialize(lab, cached) for _ in range(args.repeat)]
        report("homeport-mcp spawn -> initialize", statistics.median(s for s, _ in spawns), "s", 0.5)
        report("tools/list, default toolsets and scopes", spawns[-1][1] / 1024, "KB", 40)


if __name__ == "__main__":
    main()
