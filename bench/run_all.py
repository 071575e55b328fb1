"""`make bench`: run the bench scripts, collect their FIGURE lines, print one table (figure, target, ratio).

Usage: python bench/run_all.py [--only startup,render] [--full] [--write-readme]
Each script runs in its own process with a time limit; its FIGURE lines (bench/figures.py) are collected.
The machine's load average is read before and after each script and shown beside its figures: this
2-core machine is shared, so a ratio means little without it. --full adds the 10,000-resource no-op and
the scripts that need a backend started by hand; --write-readme replaces the table in bench/README.md
(with the date and the commit measured). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from figures import NOTE, PREFIX

BENCH = Path(__file__).resolve().parent
README = BENCH / "README.md"
BEGIN, END = "<!-- bench table: begin -->", "<!-- bench table: end -->"


@dataclass(frozen=True)
class Script:
    """One bench script: its arguments in the default run, or why it is left out."""

    name: str
    args: tuple[str, ...] = ()
    full_args: tuple[str, ...] | None = None
    skip: str = ""
    timeout: int = 1800


SCRIPTS = (
    Script("startup"),
    Script("noop_reconcile", ("--sizes", "1000"), ("--sizes", "1000,10000")),
    Script("render"),
    Script("mcp_latency"),
    Script("proxmox_mcp_read"),
    Script("peers", skip="reads a shared/peers-bench run: python bench/peers.py OUT.json"),
    Script("api_latency"),
    Script("api_paging", skip="100,000 rows per list on SQLite and PostgreSQL (issue 19); run by hand"),
    Script("noop_reconcile_daemon", skip="daemon cycles over minutes; run by hand"),
    Script("merge_to_apply", skip="daemon + webhook round trip; run by hand"),
    Script("placement", skip="placement figures of issue 14; run by hand"),
    Script("proxmox_observe", skip="needs fakepve started by the script's caller; run by hand"),
    Script("docker_observe", skip="needs a Docker daemon"),
    Script("k8s_observe", skip="needs the kube-apiserver test binary"),
    Script("lxd_observe", skip="needs the LXD test server"),
    Script("aws_observe", skip="needs the AWS test server"),
    Script("azure_observe", skip="needs the ARM test server"),
    Script("vmware_observe", skip="needs the vSphere simulator"),
    Script("container_image", skip="builds the container image (docker build)"),
    Script("pgcluster", skip="needs a PostgreSQL cluster"),
    Script("jwt_verify", skip="identity figures of issue 20; run by hand"),
    Script("yaml_limits", skip="hardening figures of issue 24; run by hand"),
    Script("fuzz_report", skip="fuzzing report of issue 24; run by hand"),
)


@dataclass
class Row:
    """One figure with the load around the script that measured it."""

    script: str
    name: str
    value: float
    unit: str
    target: float | None
    load: str


def run(script: Script, full: bool) -> tuple[list[Row], str]:
    """The script's figures, and '' or why it gave none (or what it said it left out)."""
    args = script.full_args if full and script.full_args is not None else script.args
    before = os.getloadavg()[0]
    try:
        done = subprocess.run([sys.executable, str(BENCH / f"{script.name}.py"), *args], capture_output=True,
                              text=True, timeout=script.timeout, check=False)
    except subprocess.TimeoutExpired:
        return [], f"stopped after {script.timeout} s"
    load = f"{before:.1f} -> {os.getloadavg()[0]:.1f}"
    rows, notes = [], []
    for line in done.stdout.splitlines():
        if line.startswith(PREFIX):
            fig = json.loads(line[len(PREFIX):])
            rows.append(Row(script.name, fig["name"], fig["value"], fig["unit"], fig["target"], load))
        elif line.startswith(NOTE):
            notes.append(line[len(NOTE):])
    if done.returncode != 0:
        notes.append(f"exit {done.returncode}: {(done.stderr.strip().splitlines() or ['?'])[-1][:160]}")
    elif not rows:
        notes.append("printed no FIGURE line")
    return rows, "; ".join(notes)


def table(rows: list[Row]) -> list[str]:
    """The figures as a Markdown table."""
    lines = ["| figure | value | target | ratio | load (1 min, before -> after) |", "|---|---|---|---|---|"]
    for r in rows:
        target = f"≤ {r.target:g} {r.unit}" if r.target is not None else ""
        ratio = f"{r.value / r.target:.2f}x" if r.target else ""
        lines.append(f"| {r.name} | {r.value:.3g} {r.unit} | {target} | {ratio} | {r.load} |")
    return lines


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH, capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default="", help="comma-separated script names (default: every runnable one)")
    parser.add_argument("--full", action="store_true", help="10,000 resources too")
    parser.add_argument("--write-readme", action="store_true", help="put the table into bench/README.md")
    args = parser.parse_args()
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    rows: list[Row] = []
    notes: list[str] = []
    for script in SCRIPTS:
        if only and script.name not in only:
            continue
        if script.skip:
            notes.append(f"- skipped `{script.name}.py`: {script.skip}")
            continue
        print(f"running bench/{script.name}.py ...", file=sys.stderr, flush=True)
        got, problem = run(script, args.full)
        rows += got
        if problem:
            notes.append(f"- `{script.name}.py`: {problem}")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    header = f"Measured {stamp} at commit {commit()} on {os.cpu_count()} CPUs (load average shown per script)."
    out = [header, "", *table(rows), "", *notes]
    print("\n".join(out))
    if args.write_readme:
        text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
        block = "\n".join([BEGIN, *out, END])
        if BEGIN in text and END in text:
            text = text.split(BEGIN)[0] + block + text.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
