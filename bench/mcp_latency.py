"""MCP latency: p50/p95 of a read tool and of a proposal, in process and over HTTP, on a 1,000-resource lab.

Usage: python bench/mcp_latency.py [--resources 1000] [--calls 40]
The lab (sim provider) is generated, committed and applied once. Then, through a real MCP client:
`get-deployment-status` and `query-resource-pools` (reads) and `update-resource-dimensions` (a proposal:
branch + commit + plan preview + audit row), in process (mcp.Client on the server object) and over streamable
HTTP (uvicorn on 127.0.0.1, bearer token) and over stdio (a spawned `homeport-mcp --lab DIR`, the way agents run it).
Also prints the size of `tools/list` (compact JSON, default toolsets, the local caller's default scopes
read,propose) and, over stdio, spawn -> initialize, -> tools/list and -> first read. Targets: issue 6 (read p50
<= 20 ms, propose p50 <= 200 ms) and issue 21 (reads <= 3 ms over stdio and in process, <= 5 ms over HTTP;
spawn -> initialize <= 0.5 s; tools/list <= 40 KB). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from figures import note, report
from noop_reconcile import make_lab


def pct(samples: list[float], q: float) -> float:
    """The q-quantile in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def timed(calls: int, fn: Callable[[int], Awaitable[Any]]) -> list[float]:
    """Durations of calls to fn(i) (after one warm-up call)."""
    await fn(-1)
    out = []
    for i in range(calls):
        started = time.perf_counter()
        result = await fn(i)
        out.append(time.perf_counter() - started)
        if getattr(result, "is_error", False):
            raise RuntimeError(result.content[0].text)
    return out


async def run_suite(client: Any, calls: int, tag: str) -> dict[str, list[float]]:
    """The three measured calls through one client."""
    async def status(i: int) -> Any:
        return await client.call_tool("get-deployment-status", {"instance_name": f"svc-{max(i, 0):05d}"})

    async def pools(i: int) -> Any:
        return await client.call_tool("query-resource-pools", {"path_pattern": "/bench/*"})

    async def propose(i: int) -> Any:
        return await client.call_tool("update-resource-dimensions", {
            "resource_id": f"svc-{i + 2:05d}", "resource_type": "instance", "dimensions": {"bench": f"{tag}-{i}"}})

    return {"read get-deployment-status": await timed(calls, status),
            "read query-resource-pools": await timed(calls, pools),
            "propose update-resource-dimensions": await timed(calls, propose)}


def main() -> None:
    """Build, apply, measure, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()

    import httpx2
    import uvicorn
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from mcp_server.app import HomeportApp
    from mcp_server.auth import Caller
    from mcp_server.server import build_server, http_app
    from reconciler.models.plan import Mode
    from reconciler.phases.run import reconcile
    from reconciler.store.tokens import create_token

    with tempfile.TemporaryDirectory(prefix="homeport-mcp-bench-") as tmp:
        lab = make_lab(Path(tmp), args.resources)
        app = HomeportApp(lab)
        started = time.perf_counter()
        applied = reconcile(app.service.session, mode=Mode.auto, trigger="bench")
        print(f"lab: {args.resources} resources, applied in {time.perf_counter() - started:.1f} s ({applied.status})")
        local = Caller(actor="bench", scopes=frozenset({"read", "propose"}))
        server = build_server(app, local_caller=local)
        results: dict[str, dict[str, list[float]]] = {}

        async def in_process() -> tuple[int, int]:
            async with Client(server) as client:
                listed = await client.list_tools()
                results["in process"] = await run_suite(client, args.calls, "mem")
                dumped = listed.model_dump(mode="json", by_alias=True, exclude_none=True)
                return len(json.dumps(dumped, separators=(",", ":")).encode()), len(listed.tools)

        tools_bytes, tools_count = anyio.run(in_process)
        startup: dict[str, float] = {}

        async def over_stdio() -> None:
            from mcp import StdioServerParameters

            command = str(Path(sys.executable).parent / "homeport-mcp")
            params = StdioServerParameters(command=command, args=["--lab", str(lab)], cwd=str(lab))
            spawned = time.perf_counter()
            async with Client(params) as client:
                startup["initialize"] = time.perf_counter() - spawned
                await client.list_tools()
                startup["tools/list"] = time.perf_counter() - spawned
                await client.call_tool("get-deployment-status", {"instance_name": "svc-00000"})
                startup["first read"] = time.perf_counter() - spawned
                results["stdio"] = await run_suite(client, args.calls, "stdio")

        try:
            anyio.run(over_stdio)
        except Exception as exc:  # the other figures still count; say why stdio gave none
            note(f"mcp_latency.py: no stdio figures ({type(exc).__name__}: {str(exc)[:120]})")

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        token, _ = create_token(app.service.session.db, app.service.lab_name, name="bench", owner="bench",
                                scopes=("read", "propose"))
        http_server = build_server(app, local_caller=Caller(actor="anonymous", scopes=frozenset()), http_auth=True,
                                   public_url=f"http://127.0.0.1:{port}")
        uv = uvicorn.Server(uvicorn.Config(http_app(http_server, host="127.0.0.1", allowed_hosts=[]),
                                           host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=uv.run, daemon=True)
        thread.start()
        while not uv.started:
            time.sleep(0.05)

        async def over_http() -> None:
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http, \
                    Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client:
                results["HTTP"] = await run_suite(client, args.calls, "http")

        try:
            anyio.run(over_http)
        except Exception as exc:  # the in-process figures still count; say why HTTP gave none
            note(f"mcp_latency.py: no HTTP figures ({type(exc).__name__}: {str(exc)[:120]})")
        finally:
            uv.should_exit = True
            thread.join(timeout=30)
            app.close()

    print(f"tools/list (read,propose caller, {tools_count} tools): {tools_bytes} bytes of compact JSON")
    print(f"{'transport':<11} {'call':<36} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for transport, suite in results.items():
        for name, samples in suite.items():
            print(f"{transport:<11} {name:<36} {len(samples):>4} {pct(samples, 0.5):>8.1f} {pct(samples, 0.95):>8.1f} "
                  f"{statistics.mean(samples) * 1000:>8.1f}")
    print("targets (issue 6): read p50 <= 20 ms, propose p50 <= 200 ms")
    if startup:
        report("homeport-mcp spawn -> initialize, SDK stdio client", startup["initialize"], "s", 0.5)
        report("homeport-mcp spawn -> tools/list answered", startup["tools/list"], "s", None)
        report(f"homeport-mcp spawn -> first read answered, {args.resources:,} resources", startup["first read"],
               "s", None)
    report("tools/list at the default toolsets and scopes (read,propose)", tools_bytes / 1024, "KB", 40)
    targets = {"in process": 3.0, "stdio": 3.0, "HTTP": 5.0}
    for transport, suite in results.items():
        for name, samples in suite.items():
            target = targets.get(transport) if name.startswith("read") else 200.0
            report(f"MCP {name.split(' ', 1)[1]} p50, {transport}, {args.resources:,} resources",
                   pct(samples, 0.5), "ms", target)


if __name__ == "__main__":
    main()
