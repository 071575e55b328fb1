"""The fuzz suite's long run (`make fuzz`): cases run, failures and the slowest input per target.

Usage: python bench/fuzz_report.py [--cases 10000] [--target NAME ...] [--seed N]
Each target (tests/fuzz/targets.py) draws its inputs with hypothesis and checks its properties: no
traceback, no run left running, no write outside the lab, no Git write by a read-scope call, the audit
chain verifies. A failure is shrunk by hypothesis and printed with its input. Figures are printed, never
asserted; the exit code is 1 when any target failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.backends.homeport_lab import make_lab  # noqa: E402
from tests.fuzz.targets import TARGETS  # noqa: E402


def run_target(name: str, cases: int, seed: int | None) -> dict[str, Any]:
    """Run one target; return its figures."""
    target = TARGETS[name]
    stats: dict[str, Any] = {"cases": 0, "failures": 0, "slowest": (0.0, None), "error": None}
    with tempfile.TemporaryDirectory(prefix="homeport-fuzz-") as tmp:
        lab = make_lab(Path(tmp) / "lab")
        with target.context(lab) as ctx:

            @settings(max_examples=cases, deadline=None, database=None, derandomize=seed is None,
                      suppress_health_check=list(HealthCheck), print_blob=True)
            @given(target.strategy(ctx))
            def run(case: Any) -> None:
                started = time.perf_counter()
                try:
                    target.check(ctx, case)
                finally:
                    took = time.perf_counter() - started
                    stats["cases"] += 1
                    if took > stats["slowest"][0]:
                        stats["slowest"] = (took, case)

            if seed is not None:
                run = __import__("hypothesis").seed(seed)(run)
            try:
                run()
            except Exception as exc:  # the shrunk failing case, reported rather than raised
                stats["failures"] = 1
                stats["error"] = f"{type(exc).__name__}: {exc}"
    return stats


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} chars)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="cases per target (the issue's bar: 10000)")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="only these targets")
    parser.add_argument("--seed", type=int, default=None, help="a random seed (default: derandomized)")
    args = parser.parse_args()
    failed = False
    for name in args.target or sorted(TARGETS):
        started = time.perf_counter()
        stats = run_target(name, args.cases, args.seed)
        took = time.perf_counter() - started
        slow_s, slow_case = stats["slowest"]
        print(f"{name}: {stats['cases']:,} cases in {took:.1f} s, {stats['failures']} failure(s); "
              f"slowest {slow_s * 1000:.1f} ms: {_short(slow_case)}")
        if stats["error"]:
            failed = True
            print(f"  FAILED: {_short(stats['error'], 2000)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
