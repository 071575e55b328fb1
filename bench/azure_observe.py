"""Benchmark: a no-op observe + diff cycle of the azure provider over 200 managed VMs on the ARM test server.

Starts the ARM test server (tests/backends/arm.py) on 127.0.0.1, creates N managed VMs through the
provider's own apply() (NSG, NIC, VM each; every body checked against the SDK models), then times
observe() plus the pure diff of every resource against its desired fields, and counts the ARM calls
one cycle makes.

    .venv/bin/python bench/azure_observe.py [--count 200] [--cycles 5] [--page-size 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.provider_state import MemoryState  # noqa: E402
from reconciler.models.effective import EffectiveResource  # noqa: E402
from reconciler.models.lab import ProviderConfig  # noqa: E402
from reconciler.models.plan import Change, Op  # noqa: E402
from reconciler.models.resource import Deployment, NetworkSpec, Port, Requirements, ServiceSpec  # noqa: E402
from reconciler.plan.diff import diff_fields  # noqa: E402
from reconciler.providers.azure import AzureProvider  # noqa: E402
from reconciler.providers.base import ProviderContext  # noqa: E402
from tests.backends.arm import RESOURCE_GROUP, SUBSCRIPTION, ArmServer  # noqa: E402

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyNotARealOne bench"


def resource(name: str, subnet: str) -> EffectiveResource:
    """A small VM with one port."""
    return EffectiveResource(
        name=name, lab="bench", labels={"app": "bench"}, resource_type="compute", workload_type="web-app",
        provider="cloud", provider_type="azure", pool="/cloud/azure", pool_name="azure",
        requirements=Requirements(cpu=2, memory_gb=4, storage_gb=30), deployment=Deployment(),
        network=NetworkSpec(), service=ServiceSpec(ports=[Port(name="http", port=80)]),
        properties={"vnet_subnet_id": subnet},
    )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--page-size", type=int, default=100, help="the server's list page size")
    args = parser.parse_args()
    server = ArmServer(page_size=args.page_size, settle_seconds=0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = ProviderConfig(type="azure", endpoint=server.base_url, region="eastus", options={
                "subscription_id": SUBSCRIPTION, "resource_group": RESOURCE_GROUP, "credential": "none",
                "poll_seconds": 0, "ssh_public_key": SSH_KEY})
            provider = AzureProvider(ProviderContext(lab="bench", name="cloud", config=config, state=MemoryState(),
                                                     work_dir=Path(tmp)))
            resources = [resource(f"vm-{i:03d}", server.subnet_id) for i in range(args.count)]
            started = time.perf_counter()
            for res in resources:
                provider.apply(Change(op=Op.create, resource=res.name, provider="cloud", provider_type="azure",
                                      reason="bench", desired=provider.desired_fields(res)), res, None)
            setup_s = time.perf_counter() - started
            setup_calls = len(provider.clients.calls)
            timings, calls, diffs = [], [], []
            owned = {}
            for _ in range(args.cycles):
                before = len(provider.clients.calls)
                t0 = time.perf_counter()
                inventory = provider.observe()
                owned = inventory.owned("bench")
                changed = sum(1 for res in resources if diff_fields(
                    provider.desired_fields(res), owned[res.name].fields, None, provider.diff_rules))
                timings.append(time.perf_counter() - t0)
                calls.append(len(provider.clients.calls) - before)
                diffs.append(changed)
            last = provider.clients.calls[-calls[-1]:]
            per_route = Counter(call.rsplit("/providers/", 1)[-1] for call in last)
            figures = {
                "vms": args.count,
                "owned_observed": len(owned),
                "list_page_size": args.page_size,
                "setup_seconds": round(setup_s, 1),
                "setup_api_calls": setup_calls,
                "noop_cycle_api_calls": calls[-1],
                "noop_cycle_calls_by_route": dict(sorted(per_route.items())),
                "noop_cycle_seconds_median": round(statistics.median(timings), 3),
                "noop_cycle_seconds_min": round(min(timings), 3),
                "resources_with_changes": diffs[-1],
                "schema_errors": len(server.state.schema_errors),
            }
            provider.close()
    finally:
        server.stop()
    print(json.dumps(figures, indent=2))
    if figures["resources_with_changes"] or figures["owned_observed"] != args.count or figures["schema_errors"]:
        raise SystemExit("a no-op cycle found changes or missed VMs: the benchmark is not measuring a no-op")


if __name__ == "__main__":
    main()
