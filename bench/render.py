"""Chart rendering: a cold render of 1,000 resources and the re-render after one resource file changed.

Usage: python bench/render.py [--resources 1000] [--repeat 3]
The lab is the example lab's homeport.yaml, pools and templates plus N generated resources spread
over every chart (Proxmox VM and LXC, Docker, Kubernetes, AWS, Azure, vSphere, LXD, sim), committed
to a throwaway Git repository and loaded like the reconciler does. Cold: empty render caches (charts
already loaded). Re-render: one resource file edited and committed, the state re-loaded (blob cache)
and every resource rendered again (unchanged ones are cache hits). Targets from issue 4: <= 2 s cold,
<= 50 ms re-render. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pygit2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from figures import report  # noqa: E402

from reconciler.render import engine, values  # noqa: E402
from reconciler.render.chart import ChartLibrary  # noqa: E402
from reconciler.render.engine import render_chart  # noqa: E402
from reconciler.source.loader import LoadCache, load_commit  # noqa: E402

KINDS = [
    ("compute", "llm-inference", "/infrastructure/on-premise/proxmox/compute/gpu-nodes",
     "requirements: {{cpu: 4, memory_gb: 16, storage_gb: 100, gpu: true}}\n"
     "  network: {{ipv4: 10.0.{a}.{b}/16, gateway: 10.0.0.1}}\n  placement: {{node: pve1}}"),
    ("container", "dns", "/infrastructure/on-premise/proxmox/compute/general",
     "requirements: {{cpu: 1, memory_gb: 0.5, storage_gb: 8}}"),
    ("service", "web-app", "/infrastructure/on-premise/docker/standalone-hosts",
     "requirements: {{cpu: 1, memory_gb: 1}}\n"
     "  service: {{image: 'nginx:1.27', ports: [{{name: http, port: {port}, target: 80}}]}}"),
    ("service", "web-app", "/infrastructure/on-premise/kubernetes/production-cluster",
     "requirements: {{cpu: 1, memory_gb: 1}}\n"
     "  service: {{image: 'nginx:1.27', ports: [{{name: http, port: 8080}}], env: {{MODE: bench}}}}"),
    ("compute", "web-app", "/infrastructure/cloud/aws/us-east-1/compute",
     "requirements: {{cpu: 2, memory_gb: 4, storage_gb: 20, disks: [{{name: data, size: 50G}}]}}"),
    ("compute", "web-app", "/infrastructure/cloud/azure/westus2/vm-scale-sets",
     "requirements: {{cpu: 2, memory_gb: 8, storage_gb: 64}}"),
    ("compute", "web-app", "/infrastructure/on-premise/vmware/esxi-01",
     "requirements: {{cpu: 2, memory_gb: 4, storage_gb: 40}}"),
    ("container", "media-server", "/infrastructure/on-premise/lxd/hosts",
     "requirements: {{cpu: 2, memory_gb: 4, storage_gb: 50}}"),
    ("compute", "web-app", "/infrastructure/on-premise/sim/compute",
     "requirements: {{cpu: 2, memory_gb: 4, storage_gb: 20}}"),
]


def resource_yaml(index: int, extra_cpu: int = 0) -> str:
    """One generated resource, of the kind index selects."""
    rtype, workload, pool, body = KINDS[index % len(KINDS)]
    body = body.format(a=index // 250, b=index % 250 + 2, port=20000 + index)
    if extra_cpu:
        body = re.sub(r"cpu: \d+", f"cpu: {extra_cpu}", body, count=1)
    return (f"apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {{name: r{index:05d}}}\n"
            f"spec:\n  resource_type: {rtype}\n  workload_type: {workload}\n  pool: {pool}\n  {body}\n")


def git(folder: Path, *args: str) -> None:
    """Run git quietly in folder."""
    subprocess.run(["git", "-C", str(folder), "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args],
                   check=True, capture_output=True)


def make_lab(folder: Path, count: int) -> None:
    """The example lab's kinds plus `count` generated resources, committed."""
    source = ROOT / "desired-state"
    shutil.copy(source / "homeport.yaml", folder / "homeport.yaml")
    shutil.copytree(source / "pools", folder / "pools")
    shutil.copytree(source / "templates", folder / "templates")
    (folder / "resources").mkdir()
    for i in range(count):
        (folder / "resources" / f"r{i:05d}.yaml").write_text(resource_yaml(i), encoding="utf-8")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "bench lab")


def clear_render_caches() -> None:
    """Forget rendered outputs, compiled templates and schema validators (a cold process)."""
    engine._CACHE.clear()
    engine._BY_RESOURCE.clear()
    engine._ENVIRONMENTS.clear()
    values._validators.clear()


def render_all(state, library: ChartLibrary) -> int:  # type: ignore[no-untyped-def]
    """Render every resource with its chart; the number of files."""
    files = 0
    for resource in state.effective.values():
        chart = library.for_resource(resource.provider_type, resource.resource_type, resource.workload_type)
        if chart is not None:
            files += len(render_chart(chart, resource).files)
    return files


def main() -> None:
    """Print cold and incremental render figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    library = ChartLibrary([ROOT / "charts"])
    cold, warm, loads, cold_cpu, warm_cpu = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="homeport-bench-render-") as tmp:
        folder = Path(tmp) / "lab"
        folder.mkdir()
        make_lab(folder, args.resources)
        repo = pygit2.Repository(str(folder))
        cache = LoadCache()
        state = load_commit(repo, repo.head.peel(pygit2.Commit), cache)
        for attempt in range(args.repeat):
            clear_render_caches()
            started, cpu = time.perf_counter(), time.process_time()
            files = render_all(state, library)
            cold.append(time.perf_counter() - started)
            cold_cpu.append(time.process_time() - cpu)
            # One resource file changes: commit it, reload (blob cache), render everything again.
            (folder / "resources" / "r00004.yaml").write_text(resource_yaml(4, extra_cpu=3 + attempt), encoding="utf-8")
            git(folder, "commit", "-q", "-am", f"resize r00004 ({attempt})")
            started = time.perf_counter()
            state = load_commit(repo, repo.head.peel(pygit2.Commit), cache)
            loaded, cpu = time.perf_counter(), time.process_time()
            render_all(state, library)
            warm.append(time.perf_counter() - loaded)
            warm_cpu.append(time.process_time() - cpu)
            loads.append(loaded - started)
    print(f"resources: {args.resources}, files rendered: {files}, charts: {len(library.charts)}")
    load = os.getloadavg()[0]
    print(f"cold render (empty caches): median {statistics.median(cold) * 1000:.0f} ms wall, "
          f"{statistics.median(cold_cpu) * 1000:.0f} ms CPU; min {min(cold) * 1000:.0f} ms wall "
          f"over {args.repeat} runs (target <= 2000 ms)")
    print(f"re-render after one file changed: median {statistics.median(warm) * 1000:.1f} ms wall, "
          f"{statistics.median(warm_cpu) * 1000:.1f} ms CPU; min {min(warm) * 1000:.1f} ms wall (target <= 50 ms)")
    print(f"  machine load average during the run: {load:.1f} on {os.cpu_count()} CPUs")
    report(f"render {args.resources:,} resources, cold", statistics.median(cold), "s", 1.0)
    report("re-render after one file changed", statistics.median(warm) * 1000, "ms", 20)
    print(f"  (re-load of the changed commit before it, blob cache: median {statistics.median(loads) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
