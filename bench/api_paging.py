"""Cursor paging deep into big lists: p50/p95 of one page of proposals, snapshots and the deviation timeline when
each list holds 100,000 rows, for the first page and for a page 90% of the way down (a keyset query seeks the
(lab, time, id) index to the cursor, so both should cost the same).

Usage: python bench/api_paging.py [--rows 100000] [--calls 100] [--database-url URL]
The example lab (not applied) gets the rows in bulk; the web door is served as `homeport serve` serves it (uvicorn
on 127.0.0.1, a real HTTP client with keep-alive). Target: the web issue's p50 <= 20 ms for an API read. Figures
are printed, never asserted.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_latency import pct, timed
from figures import report

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def seed(lab: Any, rows: int) -> dict[str, tuple[str, str]]:
    """Insert rows proposals, snapshots and deviations (five per second); the key 90% down each list."""
    from sqlalchemy import insert

    from reconciler.store.tables import InfrastructureSnapshotRow, ProposalRow, StateDeviationRow

    name = lab.lab_name

    def at(i: int) -> datetime:
        return BASE + timedelta(seconds=i // 5)

    deep = rows - rows * 9 // 10  # the row 90% of the way down a newest-first list
    with lab.session.db.session() as s:
        for start in range(0, rows, 20_000):
            chunk = range(start, min(rows, start + 20_000))
            s.execute(insert(ProposalRow), [
                {"id": f"p{i:031x}", "lab": name, "title": f"p {i}", "branch": f"proposals/p{i}", "base_commit": "0",
                 "head_commit": "1", "author": "bench", "status": "merged", "created_at": at(i)} for i in chunk])
            s.execute(insert(InfrastructureSnapshotRow), [
                {"id": f"s{i:031x}", "lab": name, "name": f"s {i}", "snapshot_data": {"n": i}, "created_at": at(i)}
                for i in chunk])
            s.execute(insert(StateDeviationRow), [
                {"id": f"d{i:031x}", "lab": name, "resource": f"r-{i % 50}", "field_path": f"f.{i}",
                 "detected_at": at(i), "last_seen_at": at(i), "resolved_at": at(i), "resolution": "adopted"}
                for i in chunk])
    return {kind: (at(deep).isoformat(), f"{kind[0]}{deep:031x}") for kind in ("proposals", "snapshots", "timeline")}


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: the lab's SQLite file)")
    args = parser.parse_args()

    import uvicorn

    from reconciler.service import LabService, commands
    from reconciler.source.scaffold import create_lab
    from reconciler.web.paging import encode_cursor
    from reconciler.web.serve import serve_lab
    from reconciler.web.settings import WebSettings

    with tempfile.TemporaryDirectory(prefix="homeport-paging-bench-") as tmp:
        lab_dir = Path(tmp) / "lab"
        create_lab(lab_dir)
        with LabService.open(lab_dir, database_url=args.database_url, actor="bench") as lab:
            started = time.perf_counter()
            deep = seed(lab, args.rows)
            seconds = time.perf_counter() - started
            print(f"{args.rows:,} proposals, snapshots and deviations inserted in {seconds:.1f} s")
            token = commands.create_token(lab, name="bench", scopes="read", owner="bench").secret
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        served = serve_lab(lab_dir, settings=WebSettings(), public_url=url, database_url=args.database_url,
                           with_mcp=False)
        server = uvicorn.Server(uvicorn.Config(served.app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        paths = {"proposals": "/api/v1/proposals", "snapshots": "/api/v1/snapshots",
                 "timeline": "/api/v1/deviations/timeline"}
        results: dict[str, list[float]] = {}
        try:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
                for kind, path in paths.items():
                    cursor = encode_cursor(deep[kind])
                    results[f"GET {path} (first page)"] = timed(args.calls, lambda i, p=path: api.get(p))
                    results[f"GET {path} (90% down)"] = timed(
                        args.calls, lambda i, p=path, c=cursor: api.get(p, params={"cursor": c}))
        finally:
            server.should_exit = True
            thread.join(30)
            served.close()
        print(f"{'request (50 a page)':52} {'p50 ms':>8} {'p95 ms':>8} {'target p50':>11}")
        for name, samples in results.items():
            p50 = pct(samples, 0.5)
            print(f"{name:52} {p50:8.1f} {pct(samples, 0.95):8.1f} {20:9.0f} ms")
            report(f"paging {name} p50", p50, "ms", 20.0)


if __name__ == "__main__":
    main()
