"""No-op reconcile on the sim provider: time and peak RSS for labs of N resources.

Usage: python bench/noop_reconcile.py [--sizes 1000,10000] [--database-url URL] [--no-full] [--no-changed]
Each lab is generated, committed, applied once (the real apply path) and reconciled once more (a full run that
finds it converged and writes the no-op index), then a no-op reconcile is timed in a fresh process (cold: a
CLI run or a daemon's first cycle) and again in that process (warm: a daemon's later cycles). The same is timed
with --full (load, render, observe and diff every resource: the cost without the index) in another fresh
process. Targets from issue 21: <= 0.3 s (1,000) / <= 1.5 s (10,000) cold, <= 0.3 s warm at 10,000, <= 200 MB
peak RSS at 10,000. Then one resource file is changed and committed, and three runs are timed in a fresh process:
the one applying it (renders and diffs that resource only), the next (finds the lab converged), and one answered
from the index (--no-changed leaves this out). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from figures import report

LAB = """\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: bench-{n}}}
spec:
  providers:
    lab:
      type: sim
      options:
        nodes: {{{nodes}}}
  reconcile: {{auto_apply: true, prune: false, self_heal: true}}
"""

POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: compute}
spec:
  path: /bench/compute
  provider: lab
"""

RESOURCE = """\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: svc-{i:05d}, labels: {{app: svc-{i:05d}}}}}
spec:
  workload_type: web-app
  pool: /bench/compute
  requirements: {{cpu: 1, memory_gb: 1, storage_gb: 10}}
  service:
    ports: [{{name: http, port: {port}}}]
"""


def make_lab(root: Path, n: int) -> Path:
    """A committed lab of n sim resources spread over n/500 + 1 roomy nodes."""
    lab = root / f"lab-{n}"
    (lab / "pools").mkdir(parents=True)
    (lab / "resources").mkdir()
    nodes = ", ".join(
        f"node-{k}: {{cpu: 2000, memory_gb: 4000, storage_gb: 100000, gpu: 0}}" for k in range(n // 500 + 1)
    )
    (lab / "homeport.yaml").write_text(LAB.format(nodes=nodes, n=n))
    (lab / "pools" / "compute.yaml").write_text(POOL)
    for i in range(n):
        (lab / "resources" / f"svc-{i:05d}.yaml").write_text(RESOURCE.format(i=i, port=8000 + i % 1000))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "b@localhost",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "b@localhost",
    }
    subprocess.run(["git", "init", "-q", "-b", "main", str(lab)], check=True, env=env)
    subprocess.run(["git", "-C", str(lab), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(lab), "commit", "-q", "-m", "bench lab"], check=True, env=env)
    return lab


def measure(lab: Path, database_url: str | None, warm_runs: int, full: bool) -> dict[str, object]:
    """In this (fresh) process: one cold no-op reconcile, then warm ones; peak RSS."""
    from reconciler.models.plan import Mode
    from reconciler.phases.context import LabSession
    from reconciler.phases.run import reconcile

    started = time.perf_counter()
    session = LabSession.open(lab, database_url=database_url, actor="bench", actor_kind="system")
    cold = reconcile(session, mode=Mode.auto, trigger="bench", full=full)
    cold_s = time.perf_counter() - started
    assert cold.plan is not None and not cold.plan.has_changes, "the lab was not converged"
    warm = []
    for _ in range(warm_runs):
        t = time.perf_counter()
        result = reconcile(session, mode=Mode.auto, trigger="bench", full=full)
        warm.append(time.perf_counter() - t)
        assert result.plan is not None and not result.plan.has_changes
    session.close()
    return {
        "cold_s": round(cold_s, 3),
        "warm_s": round(min(warm), 3) if warm else None,
        "phases_cold": {k: round(v, 3) for k, v in cold.timings.items()},
        "skipped_cold": cold.skipped_by_index,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_changed(lab: Path, database_url: str | None) -> dict[str, object]:
    """In this (fresh) process, after one resource file changed: the run that applies it (rendering and diffing
    only that resource), then the run that finds the lab converged, then one answered from the index."""
    from reconciler.models.plan import Mode
    from reconciler.phases.context import LabSession
    from reconciler.phases.run import reconcile

    session = LabSession.open(lab, database_url=database_url, actor="bench", actor_kind="system")
    out: dict[str, object] = {}
    for label in ("applies", "converges", "indexed"):
        t = time.perf_counter()
        result = reconcile(session, mode=Mode.auto, trigger="bench", full=False)
        out[f"{label}_s"] = round(time.perf_counter() - t, 3)
        out[f"{label}_skipped"] = result.skipped_by_index
        out[f"{label}_applied"] = result.counts.get("applied", 0)
        out[f"{label}_phases"] = {k: round(v, 3) for k, v in result.timings.items()}
    session.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def change_one(lab: Path) -> None:
    """svc-00000 gets a second cpu, committed."""
    path = lab / "resources" / "svc-00000.yaml"
    path.write_text(path.read_text().replace("cpu: 1,", "cpu: 2,"))
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@localhost"}
    subprocess.run(["git", "-C", str(lab), "commit", "-q", "-am", "one changed"], check=True, env=env)


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM from /proc (ru_maxrss on Linux also counts the parent's pages this process
    was forked with before it exec'd, so it reports the bench's own 10,000-resource setup), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure_in_subprocess(lab: Path, url: str | None, warm_runs: int, full: bool,
                          changed: bool = False) -> dict[str, Any]:
    """measure() in a fresh interpreter."""
    cmd = [sys.executable, __file__, "--measure", str(lab), "--warm-runs", str(warm_runs)]
    if url:
        cmd += ["--database-url", url]
    if full:
        cmd += ["--measure-full"]
    if changed:
        cmd += ["--measure-changed"]
    out: dict[str, Any] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return out


def main() -> None:
    """Generate, converge, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite in the lab)")
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--no-full", action="store_true", help="Do not time --full runs (the cost without the index)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-changed", action="store_true", help="Do not time the runs after one changed file")
    parser.add_argument("--measure-full", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure-changed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure and args.measure_changed:
        print(json.dumps(measure_changed(args.measure, args.database_url)))
        return
    if args.measure:
        print(json.dumps(measure(args.measure, args.database_url, args.warm_runs, args.measure_full)))
        return
    targets = {1000: 0.3, 10000: 1.5}
    with tempfile.TemporaryDirectory(prefix="homeport-bench-") as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            lab = make_lab(Path(tmp), n)
            url = args.database_url  # each size is its own lab (bench-N), so one PostgreSQL holds both apart
            t = time.perf_counter()
            from reconciler.models.plan import Mode
            from reconciler.phases.context import LabSession
            from reconciler.phases.run import reconcile

            session = LabSession.open(lab, database_url=url, actor="bench", actor_kind="system")
            first = reconcile(session, mode=Mode.manual, trigger="bench-setup")
            apply_s = time.perf_counter() - t
            reconcile(session, mode=Mode.auto, trigger="bench-setup")  # converged: this full run writes the index
            session.close()
            out = measure_in_subprocess(lab, url, args.warm_runs, full=False)
            target = targets.get(n)
            ratio = f"{out['cold_s'] / target:.2f}x of target {target:g} s" if target else ""
            print(
                f"N={n:>6}: initial apply {apply_s:7.2f} s ({first.counts.get('applied', 0)} created); "
                f"no-op reconcile cold {out['cold_s']:.3f} s {ratio}; warm {out['warm_s']} s; "
                f"peak RSS {out['peak_rss_mb']} MB ({out['peak_rss_mb'] / 200:.2f}x of 200 MB); "
                f"{out['skipped_cold']} resources skipped by the no-op index"
            )
            print(f"          cold phases: {out['phases_cold']}")
            report(f"no-op reconcile {n:,}, cold process", out["cold_s"], "s", targets.get(n))
            if out["warm_s"] is not None:
                report(f"no-op reconcile {n:,}, warm", out["warm_s"], "s", 0.3 if n == 10000 else None)
            report(f"peak RSS, no-op reconcile {n:,}", out["peak_rss_mb"], "MB", 200 if n == 10000 else None)
            if not args.no_changed:
                change_one(lab)
                one = measure_in_subprocess(lab, url, 0, full=False, changed=True)
                print(f"          one file changed: the run applying it {one['applies_s']} s "
                      f"({one['applies_applied']} applied, {one['applies_skipped']} taken from the index), "
                      f"the next {one['converges_s']} s ({one['converges_skipped']} from the index), "
                      f"then {one['indexed_s']} s (all from the index); peak RSS {one['peak_rss_mb']} MB")
                print(f"          phases of the run applying it: {one['applies_phases']}")
                report(f"reconcile {n:,}, one file changed, the run applying it", one["applies_s"], "s", None)
                report(f"reconcile {n:,}, one file changed, the next run", one["converges_s"], "s", None)
            if args.no_full:
                continue
            full = measure_in_subprocess(lab, url, min(args.warm_runs, 1), full=True)
            print(f"          --full: cold {full['cold_s']:.3f} s, warm {full['warm_s']} s, "
                  f"peak RSS {full['peak_rss_mb']} MB; phases {full['phases_cold']}")
            report(f"no-op reconcile {n:,}, cold process, --full", full["cold_s"], "s", None)
            if full["warm_s"] is not None:
                report(f"no-op reconcile {n:,}, warm, --full", full["warm_s"], "s", None)
            report(f"peak RSS, no-op reconcile {n:,}, --full", full["peak_rss_mb"], "MB", None)


if __name__ == "__main__":
    main()
