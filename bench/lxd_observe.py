"""LXD provider: API calls and time of observe cycles with 100 managed instances on a real LXD daemon.

Starts Debian's lxd 5.0 by hand (tests/backends/lxd.py: private LXD_DIR, dir pool, offline busybox image),
creates 100 homeport-owned busybox containers (running, 1 CPU / 64 MiB limits each) plus one unmanaged,
then measures with the real provider:
  1. a cold cycle: connect (GET /1.0), the instances listing, the host's /1.0/resources and storage pools,
  2. no-op cycles: the steady state the reconciler pays every interval (target: 1 call, <= 0.3 s),
  3. the listing alone at recursion=1 (the provider's default) and recursion=2 (adds every instance's state),
  4. for contrast, reading the same facts instance by instance (GET instance + GET state each).
Calls are HTTP requests counted on the provider's session. Run: .venv/bin/python bench/lxd_observe.py [instances]
Needs root, lxd and the test images (scripts/install-test-deps.sh); holds /tmp/homeport-lxd.lock.
"""

from __future__ import annotations

import fcntl
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.models.lab import ProviderConfig  # noqa: E402
from reconciler.providers.base import ProviderContext  # noqa: E402
from reconciler.providers.lxd import LxdProvider  # noqa: E402
from reconciler.providers.lxd.client import LxdClient  # noqa: E402
from reconciler.providers.lxd.settings import load_settings  # noqa: E402
from reconciler.store.database import open_database  # noqa: E402
from reconciler.store.provider_state import DbProviderState  # noqa: E402
from tests.backends.lxd import BUSYBOX, LOCK, start_daemon, stop_daemon  # noqa: E402

LAB = "bench"
CYCLES = 20


def create_instances(config: ProviderConfig, count: int) -> None:
    """count owned, running busybox containers and one unmanaged one, through the API (4 at a time)."""
    client = LxdClient(load_settings(config, "lxd"))

    def one(i: int) -> None:
        name = f"bench-{i:03d}"
        body = {
            "name": name,
            "type": "container",
            "source": {"type": "image", "alias": BUSYBOX},
            "config": {
                "user.homeport.managed-by": "homeport",
                "user.homeport.lab": LAB,
                "user.homeport.resource": name,
                "user.homeport.image": BUSYBOX,
                "limits.cpu": "1",
                "limits.memory": "64MiB",
            },
            "devices": {"root": {"type": "disk", "path": "/", "pool": "default", "size": "1GiB"}},
        }
        client.request("post", "instances", f"create {name}", json=body)
        client.request("put", f"instances/{name}/state", f"start {name}", json={"action": "start"})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))
    stranger = {"name": "stranger", "type": "container", "source": {"type": "image", "alias": BUSYBOX}}
    client.request("post", "instances", "create stranger", json=stranger)
    client.close()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = Path(tempfile.mkdtemp(prefix="hp-lxd-bench-"))
        base.chmod(0o755)
        daemon = start_daemon(base)
        try:
            config = ProviderConfig.model_validate(
                {"type": "lxd", "endpoint": daemon.endpoint, "nodes": ["lxd1"], "options": {"operation_timeout": 300}}
            )
            started = time.perf_counter()
            create_instances(config, count)
            print(f"setup: {count} running containers + 1 unmanaged in {time.perf_counter() - started:.1f} s")
            db = open_database(f"sqlite:///{base / 'bench.db'}")
            ctx = ProviderContext(
                lab=LAB, name="lxd", config=config, state=DbProviderState(db, LAB, "lxd"), work_dir=base
            )
            provider = LxdProvider(ctx)
            t0 = time.perf_counter()
            cold = provider.observe()
            cold_s = time.perf_counter() - t0
            owned = len(cold.owned(LAB))
            print(
                f"cold cycle: {provider.client.calls} calls (connect, listing, /1.0/resources, pools), "
                f"{cold_s * 1000:.0f} ms; {owned} owned, {len(cold.unmanaged(LAB))} unmanaged"
            )
            times, calls = [], []
            for _ in range(CYCLES):
                t0 = time.perf_counter()
                inv = provider.observe()
                times.append(time.perf_counter() - t0)
                calls.append(inv.api_calls)
            print(
                f"no-op cycle ({CYCLES} runs): {max(calls)} call(s) each; "
                f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
                "(target: 1 call, <= 300 ms)"
            )
            client = provider.client
            for recursion in (1, 2):
                t0 = time.perf_counter()
                for _ in range(5):
                    client.get("instances", "list", recursion=recursion)
                print(f"listing alone, recursion={recursion}: {(time.perf_counter() - t0) / 5 * 1000:.0f} ms")
            before = client.calls
            t0 = time.perf_counter()
            for name in sorted(r.id or "" for r in cold.resources):
                client.get(f"instances/{name}", f"read {name}")
                client.get(f"instances/{name}/state", f"read state of {name}")
            per_s = time.perf_counter() - t0
            print(f"contrast, one instance at a time: {client.calls - before} calls, {per_s * 1000:.0f} ms")
            provider.close()
            db.dispose()
        finally:
            stop_daemon(daemon)
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
