"""REST API and web UI latency on a 1,000-resource lab: p50/p95 of the reads a person and a script make most.

Usage: python bench/api_latency.py [--resources 1000] [--calls 200]
The lab (sim provider) is generated, committed and applied once. Then the web door is served as `homeport
serve` serves it (uvicorn on 127.0.0.1, a real HTTP client with keep-alive) and timed: GET /api/v1/resources
(first page), GET /api/v1/instances/<name> (bearer token), and the lab tree page `/` (logged-in session).
Targets from the web issue: p50 <= 20 ms for API reads, <= 50 ms for a page. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from figures import report
from noop_reconcile import make_lab


def pct(samples: list[float], q: float) -> float:
    """The q-quantile in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def timed(calls: int, fn: Callable[[int], httpx.Response]) -> list[float]:
    """Durations of calls to fn(i), after five warm-up calls; every answer must be 200."""
    for i in range(5):
        fn(i)
    out = []
    for i in range(calls):
        started = time.perf_counter()
        response = fn(i)
        out.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return out


def main() -> None:
    """Build, apply, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    import uvicorn

    from reconciler.service import LabService, Mode, commands
    from reconciler.web.serve import serve_lab
    from reconciler.web.settings import WebSettings

    with tempfile.TemporaryDirectory(prefix="homeport-api-bench-") as tmp:
        lab_dir = make_lab(Path(tmp), args.resources)
        with LabService.open(lab_dir, actor="bench") as lab:
            started = time.perf_counter()
            applied = commands.apply(lab, mode=Mode.auto, trigger="bench")
            print(f"lab: {args.resources} resources, applied in {time.perf_counter() - started:.1f} s "
                  f"({applied.status})")
            token = commands.create_token(lab, name="bench", scopes="read", owner="bench").secret
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        served = serve_lab(lab_dir, settings=WebSettings(), public_url=url, with_mcp=False)
        server = uvicorn.Server(uvicorn.Config(served.app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api, \
                    httpx.Client(base_url=url, timeout=60) as browser:
                login = browser.get("/login")
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
                assert csrf is not None
                browser.post("/login", data={"token": token, "csrf_token": csrf.group(1), "next": "/"})
                names = [f"svc-{i:05d}" for i in range(args.resources)]
                first = api.get("/api/v1/resources").json()
                page = browser.get("/")
                results = {
                    "GET /api/v1/resources (first page)": timed(args.calls, lambda i: api.get("/api/v1/resources")),
                    "GET /api/v1/instances/<name>": timed(
                        args.calls, lambda i: api.get(f"/api/v1/instances/{names[(i * 37) % len(names)]}")),
                    "GET / (lab tree page)": timed(args.calls, lambda i: browser.get("/")),
                }
        finally:
            server.should_exit = True
            thread.join(30)
            served.close()
        targets = {"GET / (lab tree page)": 50.0}
        print(f"first page: {len(first['items'])} of {args.resources} resources; lab tree page "
              f"{len(page.content) / 1024:.0f} KiB of HTML")
        print(f"{'request':40} {'p50 ms':>8} {'p95 ms':>8} {'target p50':>11} {'ratio':>6}")
        for name, samples in results.items():
            target = targets.get(name, 20.0)
            p50 = pct(samples, 0.5)
            print(f"{name:40} {p50:8.1f} {pct(samples, 0.95):8.1f} {target:9.0f} ms {p50 / target:6.2f}")
            report(f"web {name} p50", p50, "ms", target)
            report(f"web {name} p95", pct(samples, 0.95), "ms", None)


if __name__ == "__main__":
    main()
