"""Seconds from a pushed commit (announced by a signed webhook) to applied on sim, through a real daemon process.

Usage: python bench/merge_to_apply.py [--pushes 5] [--database-url URL | --postgres]
A bare repository stands in for the forge; `homeport daemon --repo` mirrors it (SQLite in its state dir
unless --database-url). Each push adds one machine; the clock stops when /healthz reports a run at the new
revision and the machine is live. Target: <= 5 s. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.daemon.webhook import sign
from tests.daemon.labrepo import LabRepo, lab_files, resource_yaml

SECRET = "bench-secret"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_health(base: str, predicate: object, limit: float = 300.0) -> dict[str, object]:
    """Poll /healthz every 10 ms until predicate(health) holds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{base}/healthz", timeout=5).json()
            if predicate(health):  # type: ignore[operator]
                return dict(health)
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise SystemExit("the daemon did not get there in time")


def main() -> None:
    """Start a daemon on a forge, push, measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pushes", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL 15 cluster")
    args = parser.parse_args()
    if args.postgres and not args.database_url:
        from bench.pgcluster import postgres_database

        with postgres_database(None) as url:
            args.database_url = url
            run(args)
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    """Start a daemon on a forge, push, measure."""
    with tempfile.TemporaryDirectory(prefix="homeport-merge-") as tmp:
        forge = LabRepo(Path(tmp) / "forge.git", bare=True)
        forge.commit(lab_files(5), "lab")
        port = free_port()
        env = {**os.environ, "HOMEPORT_WEBHOOK_SECRET": SECRET}
        if args.database_url:
            env["HOMEPORT_DATABASE_URL"] = args.database_url
        log = (Path(tmp) / "daemon.log").open("wb")
        proc = subprocess.Popen([str(Path(sys.executable).parent / "homeport"), "daemon", "--repo", forge.url,
                                 "--state-dir", str(Path(tmp) / "state"), "--port", str(port), "--poll", "1h",
                                 "--interval", "1h"], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_health(base, lambda h: (h.get("last_run") or {}).get("status") == "ok")
            figures = []
            for i in range(args.pushes):
                head = forge.commit({f"resources/new-{i}.yaml": resource_yaml(f"new-{i}").encode()}, f"add new-{i}")
                body = json.dumps({"ref": "refs/heads/main", "after": head}).encode()
                started = time.perf_counter()
                resp = httpx.post(f"{base}/webhook", content=body, timeout=10, headers={
                    "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(SECRET.encode(), body)})
                assert resp.status_code == 202, resp.text
                health = wait_health(base, lambda h, head=head: (h.get("last_run") or {}).get("revision") == head)
                figures.append(time.perf_counter() - started)
                assert (health.get("last_run") or {}).get("status") == "ok", health  # type: ignore[union-attr]
            metrics = httpx.get(f"{base}/metrics", timeout=5).text
            applied = [line for line in metrics.splitlines() if line.startswith("homeport_changes_applied_total")]
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        print(f"merge-to-applied via webhook on sim ({args.pushes} pushes, "
              f"{'PostgreSQL' if args.database_url else 'SQLite'}): "
              + ", ".join(f"{x:.2f}" for x in figures)
              + f" s; median {statistics.median(figures):.2f} s, max {max(figures):.2f} s "
              f"({statistics.median(figures) / 5:.2f}x of target 5 s)")
        print("  " + "; ".join(applied))


if __name__ == "__main__":
    main()
