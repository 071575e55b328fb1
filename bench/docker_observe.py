"""Docker provider: API calls and time of observe cycles with 100 managed containers on one real engine.

Starts its own dockerd (tests/backends/dockerd.py: own data/exec roots and socket, vfs, no bridge),
creates 100 containers carrying homeport's ownership and Compose labels, then measures:
  1. a cold cycle: observe + load_detail of every resource (empty detail cache: one inspect each),
  2. a no-op cycle: observe + load_detail (the target: one listing, no inspect),
  3. a cycle after one container was stopped out of band (target: one inspect).
Provider state is homeport's real SQLite store. Run: .venv/bin/python bench/docker_observe.py [count]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.models.lab import ProviderConfig  # noqa: E402
from reconciler.providers.base import ProviderContext  # noqa: E402
from reconciler.providers.docker import DockerProvider  # noqa: E402
from reconciler.store.database import open_database  # noqa: E402
from reconciler.store.provider_state import DbProviderState  # noqa: E402
from tests.backends.dockerd import TEST_IMAGE, DockerEngine, running_engines  # noqa: E402

LAB = "bench"


def create_managed(engine: DockerEngine, count: int) -> None:
    """`count` running containers labelled as homeport resources of lab `bench`, one compose project each."""
    client = engine.client()
    try:
        host = client.create_host_config(
            network_mode="none",
            restart_policy={"Name": "unless-stopped"},
            nano_cpus=100_000_000,
            mem_limit=32 * 1024 * 1024,
        )
        for i in range(count):
            name = f"svc{i:03d}"
            labels = {
                "homeport.managed-by": "homeport",
                "homeport.lab": LAB,
                "homeport.resource": name,
                "com.docker.compose.project": f"{LAB}-{name}",
                "com.docker.compose.service": name,
            }
            created = client.create_container(
                TEST_IMAGE,
                command=["sleep", "86400"],
                name=f"{LAB}-{name}",
                labels=labels,
                environment={"INDEX": str(i)},
                host_config=host,
            )
            client.start(created["Id"])
    finally:
        client.close()


def cycle(provider: DockerProvider) -> tuple[dict[str, int], float, int]:
    """One observe + the load_detail calls the diff phase makes; API calls by kind, seconds, resources."""
    engine = next(iter(provider.engines.values()))
    before = dict(engine.calls)
    started = time.perf_counter()
    inventory = provider.observe()
    owned = inventory.owned(LAB)
    for resource in owned.values():
        if not resource.detail_loaded:
            provider.load_detail(resource)
    elapsed = time.perf_counter() - started
    calls = {k: v - before.get(k, 0) for k, v in engine.calls.items() if v - before.get(k, 0)}
    return calls, elapsed, len(owned)


def report(label: str, calls: dict[str, int], elapsed: float, owned: int) -> None:
    """Print one cycle's figures."""
    listing = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
    print(f"{label:<40} {owned:>4} owned  {sum(calls.values()):>4} API calls ({listing})  {elapsed * 1000:8.1f} ms")


def main() -> None:
    """Run the three cycles and print the figures."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with running_engines(["bench"]) as engines, tempfile.TemporaryDirectory() as tmp:
        engine = engines["bench"]
        t0 = time.perf_counter()
        create_managed(engine, count)
        print(f"setup: {count} managed containers created and started in {time.perf_counter() - t0:.1f} s")
        db = open_database(f"sqlite:///{tmp}/homeport.db")
        config = ProviderConfig(type="docker", endpoint=engine.endpoint, nodes=["bench"])

        def provider() -> DockerProvider:
            ctx = ProviderContext(
                lab=LAB, name="docker", config=config, state=DbProviderState(db, LAB, "docker"), work_dir=Path(tmp)
            )
            return DockerProvider(ctx)

        first = provider()
        report("cold cycle (empty detail cache)", *cycle(first))
        for run in range(1, 4):
            report(f"no-op cycle {run}", *cycle(first))
        first.close()
        fresh = provider()
        report("no-op cycle, new process (cache in DB)", *cycle(fresh))
        client = engine.client()
        client.stop(f"{LAB}-svc007", timeout=1)
        client.close()
        report("one container stopped out of band", *cycle(fresh))
        report("no-op cycle again", *cycle(fresh))
        fresh.close()
        db.engine.dispose()


if __name__ == "__main__":
    main()
