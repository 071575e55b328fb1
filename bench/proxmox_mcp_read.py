"""`discover-proxmox-resources` over stdio with 200 guests on fakepve: cold and warm latency, answer size.

Usage: python bench/proxmox_mcp_read.py [--guests 200] [--managed 15] [--calls 20] [--server PATH]
Starts fakepve (tests/backends/pve.py: HTTPS with its own CA, an API token) with three nodes, the seed's
template and unmanaged guests, plus `--guests` guests (4 in 5 QEMU, 1 in 5 LXC, as shared/peers-bench's
seed.py); writes a lab with one Proxmox provider and `--managed` resources, applies it once (the real
apply path clones them), then spawns `homeport-mcp --lab DIR` and calls `discover-proxmox-resources`
through the `mcp` SDK's stdio client: one cold call, then `--calls` warm calls (the default page), the
same with `all: true` (every guest in one answer), and the SDK's own round trip on a trivial tool (the
floor no server beats). PVE requests per call are counted on fakepve. `--server` measures another build
(a server without `all` gets its plain call twice). Target (issue 21): warm p50 no
slower than the fastest peer in the same run (shared/peers-bench/); here the floor is printed beside it.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import note, report  # noqa: E402

FLOOR = """\
from mcp.server import MCPServer
server = MCPServer("floor")

@server.tool()
def ping(n: int = 0) -> str:
    \"\"\"Return pong.\"\"\"
    return f"pong {n}"

server.run("stdio")
"""


def add_guests(pve: Any, count: int) -> None:
    """count guests nobody manages, as shared/peers-bench/seed.py makes them (vmids from 300)."""
    rng = random.Random(42)
    tagsets = ["prod", "dev", "web;prod", "db;prod", "k8s", "backup", "test;dev"]
    for i in range(count):
        vmid, node = 300 + i, f"pve{i % 3 + 1}"
        status = "running" if rng.random() < 0.6 else "stopped"
        cfg: dict[str, Any] = {"memory": rng.choice([512, 1024, 2048, 4096]), "cores": rng.choice([1, 2, 4])}
        if rng.random() < 0.4:
            cfg["tags"] = rng.choice(tagsets)
        if i % 5 == 4:
            cfg.update(hostname=f"ct-{vmid}", rootfs=f"local-lvm:vm-{vmid}-disk-0,size=8G")
            pve.add_ct(vmid, f"ct-{vmid}", node=node, status=status, config=cfg)
        else:
            cfg.update(scsi0=f"local-lvm:vm-{vmid}-disk-0,size=32G",
                       net0=f"virtio=BC:24:11:00:{i // 256:02X}:{i % 256:02X},bridge=vmbr0")
            pve.add_vm(vmid, f"vm-{vmid}", node=node, status=status, config=cfg)


def write_lab(lab: Path, homeport_yaml: str, managed: int) -> None:
    """A committed lab: the provider, one pool over the three nodes and `managed` small VMs."""
    import pygit2

    from reconciler.source.gitrepo import commit_worktree
    from tests.backends.pve import PVE_POOL_WITH_DEFAULTS

    (lab / "pools").mkdir(parents=True)
    (lab / "resources").mkdir()
    (lab / "homeport.yaml").write_text(homeport_yaml)
    (lab / "pools" / "proxmox.yaml").write_text(PVE_POOL_WITH_DEFAULTS)
    for i in range(1, managed + 1):
        (lab / "resources" / f"hp-app{i:02d}.yaml").write_text(
            "apiVersion: homelab.ai/v1\nkind: UniversalResource\n"
            f"metadata: {{name: hp-app{i:02d}}}\nspec:\n  workload_type: web-app\n"
            "  pool: /infrastructure/proxmox\n  requirements: {cpu: 1, memory_gb: 1, storage_gb: 8}\n")
    commit_worktree(pygit2.init_repository(str(lab), initial_head="main"), "bench lab")


def p50(samples: list[float]) -> float:
    """The median in milliseconds."""
    return statistics.median(samples) * 1000


async def measure(lab: Path, requests: Any, calls: int, env: dict[str, str], server: str) -> dict[str, Any]:
    """Cold and warm calls through the SDK's stdio client, the floor server's round trip beside them."""
    from mcp import Client, StdioServerParameters

    out: dict[str, Any] = {}
    hp = StdioServerParameters(command=server, args=["--lab", str(lab)],
                               env=env, cwd=str(lab))
    through_sdk = StdioServerParameters(command=server, args=["--lab", str(lab)],
                                        env={**env, "HOMEPORT_MCP_DIRECT_READS": "0"}, cwd=str(lab))
    floor = StdioServerParameters(command=sys.executable, args=["-c", FLOOR], env=env)
    async with Client(hp) as client, Client(floor) as base, Client(through_sdk) as sdk_client:
        async def call(args: dict[str, Any], via: Any = client) -> tuple[float, int, int]:
            start_requests = requests()
            started = time.perf_counter()
            result = await via.call_tool("discover-proxmox-resources", args)
            took = time.perf_counter() - started
            if result.is_error:
                raise RuntimeError(result.content[0].text)
            size = len(json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True)))
            return took, size, requests() - start_requests

        listed = await client.list_tools()
        paged = next(t.input_schema.get("properties", {}) for t in listed.tools
                     if t.name == "discover-proxmox-resources")
        out["cold"] = await call({})
        warm: list[tuple[float, int, int]] = []
        full: list[tuple[float, int, int]] = []
        floor_s: list[float] = []
        sdk_path: list[tuple[float, int, int]] = []
        await call({}, sdk_client)
        for i in range(calls):  # interleaved, so load changes hit every series alike
            warm.append(await call({}))
            sdk_path.append(await call({}, sdk_client))
            full.append(await call({"all": True} if "all" in paged else {}))
            started = time.perf_counter()
            await base.call_tool("ping", {"n": i})
            floor_s.append(time.perf_counter() - started)
        out["warm"], out["full"], out["floor"], out["sdk_path"] = warm, full, floor_s, sdk_path
    return out


def client_figures(backend: Any, calls: int) -> tuple[list[float], list[float]]:
    """GET /cluster/resources through homeport's PVE client, and through a bare keep-alive http.client connection
    with the same headers (the floor for a Python client), interleaved."""
    import http.client
    import ssl
    from urllib.parse import urlparse

    from reconciler.models.lab import ProviderConfig
    from reconciler.providers.proxmox.client import PveClient

    client = PveClient(ProviderConfig.model_validate(backend.provider_config()))
    url = urlparse(backend.url)
    bare = http.client.HTTPSConnection(url.hostname or "", url.port,
                                       context=ssl.create_default_context(cafile=backend.cafile))
    headers = {"Authorization": f"PVEAPIToken={client.user}={backend.token_secret}", "Accept": "application/json"}

    def floor() -> Any:
        bare.request("GET", "/api2/json/cluster/resources", headers=headers)
        return json.loads(bare.getresponse().read())["data"]

    ours: list[float] = []
    bare_s: list[float] = []
    for _ in range(calls):
        for series, fn in ((ours, lambda: client.get("cluster/resources")), (bare_s, floor)):
            started = time.perf_counter()
            fn()
            series.append(time.perf_counter() - started)
    client.close()
    bare.close()
    return ours, bare_s


def serve_fakepve(conn: Any, workdir: str, token_secret: str) -> None:
    """The child process: fakepve on its own event loop, driven over conn ("guests N", "count", "stop")."""
    from fakepve.certs import make_cert
    from fakepve.server import FakePve, settle

    from tests.backends.pve import HOST, TOKEN_ID, _Serving, seed

    certfile, keyfile, _ = make_cert(workdir, hosts=(HOST,))
    pve = FakePve(user="root@pam", password=secrets.token_urlsafe(12), host=HOST, port=0)
    pve.time_scale = 0
    pve.apitokens[TOKEN_ID] = token_secret
    seed(pve)
    serving = _Serving(pve, certfile, keyfile, settle)
    conn.send((pve.url, certfile))
    while True:
        command = conn.recv()
        if command == "count":
            conn.send(len(pve.requests))
        elif isinstance(command, tuple) and command[0] == "guests":
            serving.call(_add_on_loop(pve, command[1]))
            conn.send(len(pve.vms) + len(pve.cts))
        else:
            serving.stop()
            conn.send("stopped")
            return


async def _add_on_loop(pve: Any, count: int) -> None:
    add_guests(pve, count)


def main() -> None:
    """Start fakepve in a process of its own, build and apply the lab, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--guests", type=int, default=200)
    parser.add_argument("--managed", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--server", default=str(Path(sys.executable).parent / "homeport-mcp"),
                        help="homeport-mcp to measure (e.g. an older tree's, for a before/after)")
    args = parser.parse_args()

    import multiprocessing

    from reconciler.models.plan import Mode
    from reconciler.phases.context import LabSession
    from reconciler.phases.run import reconcile
    from tests.backends.pve import TOKEN_ID, TOKEN_ID_ENV, TOKEN_SECRET_ENV, PveBackend

    with tempfile.TemporaryDirectory(prefix="homeport-bench-pve-mcp-") as tmp:
        work = Path(tmp)
        token_secret = secrets.token_hex(16)
        parent, child = multiprocessing.Pipe()
        server = multiprocessing.get_context("spawn").Process(target=serve_fakepve, args=(child, tmp, token_secret),
                                                              daemon=True)
        server.start()
        url, certfile = parent.recv()
        os.environ[TOKEN_ID_ENV], os.environ[TOKEN_SECRET_ENV] = TOKEN_ID, token_secret

        def requests() -> int:
            parent.send("count")
            return int(parent.recv())

        try:
            backend = PveBackend(pve=None, serving=None, url=url, cafile=certfile,  # type: ignore[arg-type]
                                 token_secret=token_secret, root_password="")
            lab = work / "lab"
            write_lab(lab, backend.lab_yaml("{auto_apply: true, prune: false}"), args.managed)
            session = LabSession.open(lab, actor="bench")
            try:
                started = time.perf_counter()
                applied = reconcile(session, mode=Mode.manual, trigger="bench", approve=lambda _plan: True)
            finally:
                session.close()
            parent.send(("guests", args.guests))  # the guests nobody manages come after (they fill the capacity)
            guests = int(parent.recv())
            print(f"fakepve {url} (own process): {guests} guests; lab applied in "
                  f"{time.perf_counter() - started:.1f} s ({applied.status}: {applied.counts})", flush=True)
            figures = anyio.run(measure, lab, requests, args.calls, dict(os.environ), args.server)
            figures["client"] = client_figures(backend, max(args.calls, 100))
        finally:
            parent.send("stop")
            parent.recv()
            server.join(30)
    cold, warm, full, floor = figures["cold"], figures["warm"], figures["full"], figures["floor"]
    sdk_path = figures["sdk_path"]
    print(f"cold: {cold[0] * 1000:.1f} ms, {cold[1]} bytes, {cold[2]} PVE request(s)")
    for label, series in (("default page", warm), ("default page, HOMEPORT_MCP_DIRECT_READS=0", sdk_path),
                          ("all: true", full)):
        times = [s[0] for s in series]
        print(f"warm {label}: p50 {p50(times):.1f} ms (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}), "
              f"{series[-1][1]} bytes, PVE requests per call {statistics.median(s[2] for s in series):.0f}")
    print(f"SDK floor (trivial tool over stdio): p50 {p50(floor):.2f} ms")
    ours, bare = figures["client"]
    print(f"GET /cluster/resources in process: homeport's PVE client p50 {p50(ours):.2f} ms, bare http.client + "
          f"json p50 {p50(bare):.2f} ms")
    n = f"{guests} guests"
    report(f"discover-proxmox-resources warm p50, stdio, {n}", p50([s[0] for s in warm]), "ms", None)
    report(f"discover-proxmox-resources warm p50, stdio, through the SDK's pipeline, {n}",
           p50([s[0] for s in sdk_path]), "ms", None)
    report(f"discover-proxmox-resources answer, default page, {n}", warm[-1][1] / 1024, "KB", None)
    report(f"discover-proxmox-resources warm p50, all: true, {n}", p50([s[0] for s in full]), "ms", None)
    report(f"discover-proxmox-resources answer, all: true, {n}", full[-1][1] / 1024, "KB", None)
    report("MCP SDK floor round trip p50, stdio", p50(floor), "ms", None)
    report(f"PVE GET /cluster/resources p50, homeport's client, {n}", p50(ours), "ms", None)
    report(f"PVE GET /cluster/resources p50, bare http.client, {n}", p50(bare), "ms", None)
    note("proxmox_mcp_read.py: the bar is the fastest peer's warm p50 in the same run (shared/peers-bench/)")


if __name__ == "__main__":
    main()
