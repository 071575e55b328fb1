"""No-op cycles through the daemon's code path (Daemon.cycle: lock, fetch, reconcile, metrics, notify) on
PostgreSQL, for labs of 1,000 and 10,000 sim resources; then the daemon's RSS at cycle 1 and cycle 1,000.

Usage: python bench/noop_reconcile_daemon.py [--sizes 1000,10000] [--database-url URL] [--memory-runs 1000]
Without --database-url a throwaway PostgreSQL 15 cluster is started (needs `make test-deps`).
Targets: no-op <= 1 s (1,000) and <= 5 s (10,000); memory flat over 1,000 cycles. Figures are printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pgcluster import postgres_database


def _noop_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("noop_reconcile", Path(__file__).with_name("noop_reconcile.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rss_mb() -> float:
    """Current resident set size of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def own_lab(root: Path, n: int, name: str) -> Path:
    """noop_reconcile's lab of n resources, renamed so several labs can share one database."""
    import subprocess

    lab = _noop_module().make_lab(root, n)
    path = lab / "homeport.yaml"
    path.write_text(path.read_text().replace("metadata: {name: bench}", f"metadata: {{name: {name}}}"))
    subprocess.run(["git", "-C", str(lab), "-c", "user.name=bench", "-c", "user.email=b@localhost", "commit", "-q",
                    "-am", f"lab {name}"], check=True)
    return lab


def bench_size(root: Path, n: int, url: str, cycles: int) -> None:
    """Converge a lab of n resources, then time no-op daemon cycles."""
    from reconciler.daemon.service import Daemon
    from reconciler.daemon.settings import DaemonSettings

    lab = own_lab(root, n, f"bench-{n}")
    daemon = Daemon(DaemonSettings(lab_dir=lab, database_url=url, port=0))
    try:
        t = time.perf_counter()
        first = daemon.cycle("bench-setup")
        setup = time.perf_counter() - t
        assert first is not None, daemon.last_error
        times = []
        for _ in range(cycles):
            t = time.perf_counter()
            result = daemon.cycle("bench")
            times.append(time.perf_counter() - t)
            assert result is not None and result.plan is not None and not result.plan.has_changes, daemon.last_error
        target = {1000: 1.0, 10000: 5.0}.get(n)
        best = min(times)
        note = f" ({best / target:.2f}x of target {target:g} s)" if target else ""
        print(f"N={n:>6} PostgreSQL daemon cycle: first apply {setup:.2f} s ({first.counts.get('applied', 0)} "
              f"created); no-op cycles {', '.join(f'{x:.3f}' for x in times)} s, best {best:.3f} s{note}")
        print(f"          phases of the last no-op: { {k: round(v, 3) for k, v in result.timings.items()} }")
    finally:
        daemon.stop()


def bench_memory(root: Path, url: str, runs: int) -> None:
    """RSS at cycle 1 and cycle `runs` of one daemon (a 20-resource lab, drift healed every 50 cycles)."""
    from reconciler.daemon.service import Daemon
    from reconciler.daemon.settings import DaemonSettings
    from reconciler.providers.sim.drift import cause_drift
    from reconciler.store.provider_state import DbProviderState

    lab = own_lab(root / "mem", 20, "bench-memory")
    daemon = Daemon(DaemonSettings(lab_dir=lab, database_url=url, port=0))
    try:
        marks = {}
        t = time.perf_counter()
        for i in range(1, runs + 1):
            if i % 50 == 0 and daemon.service is not None:
                state = DbProviderState(daemon.service.session.db, "bench-memory", "lab")
                cause_drift(state, "svc-00003", {"cpu": 1 + i % 7})
            result = daemon.cycle("bench")
            assert result is not None, daemon.last_error
            if i in (1, 10, 100, runs // 2, runs):
                marks[i] = rss_mb()
        elapsed = time.perf_counter() - t
        per_cycle = elapsed / runs * 1000
        print(f"memory over {runs} daemon cycles on PostgreSQL ({elapsed:.1f} s, {per_cycle:.1f} ms/cycle): "
              + ", ".join(f"run {k}: {v:.1f} MB" for k, v in marks.items())
              + f"; growth run 1 -> {runs}: {marks[runs] - marks[1]:+.1f} MB")
    finally:
        daemon.stop()


def main() -> None:
    """Start PostgreSQL if needed, run the benches, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--memory-runs", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="homeport-bench-daemon-") as tmp, \
            postgres_database(args.database_url) as url:
        if args.memory_runs:
            bench_memory(Path(tmp), url, args.memory_runs)
        for n in [int(s) for s in args.sizes.split(",") if s]:
            bench_size(Path(tmp), n, url, args.cycles)


if __name__ == "__main__":
    main()
