"""Hostile YAML input: error reporting on 1,000 invalid documents, alias bombs, parse cost of the one dialect.

Usage: python bench/yaml_limits.py
Targets from issue 24: a file of 1,000 invalid documents reported in <= 1 s (was 251 s: one re-parse
per issue); a 10-line billion-laughs file refused at once without memory growth (was 2.2 GB), naming
the limit. Also the bulk parse of 10,000 resource files through the dialect's limit checks, against
PyYAML's CSafeLoader alone. Figures are printed, never asserted.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconciler.models.yaml12 import YamlLimitExceeded, load_documents  # noqa: E402
from reconciler.source.loader import parse_blob  # noqa: E402

RESOURCE = """\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: r{i}, labels: {{app: web}}}}
spec:
  pool: /lab/compute
  requirements: {{cpu: 2, memory_gb: 4, storage_gb: 20}}
  network: {{ipv4: 10.0.{a}.{b}/16, gateway: 10.0.0.1}}
  dimensions: {{tier: web, purchased: 2024-01-01, owner: ops}}
"""


def laughs(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def main() -> None:
    for body, label in (("{}\n", "empty mappings"), ("apiVersion: homelab.ai/v1\nkind: Nope\n", "unknown kinds")):
        data = ("---\n" + body) * 1000
        started = time.perf_counter()
        parsed = parse_blob("resources/many.yaml", data.encode())
        took = time.perf_counter() - started
        print(f"1,000 invalid documents ({label}, {len(data):,} bytes): {len(parsed.issues)} issues "
              f"in {took:.3f} s (target <= 1 s, was 251 s)")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for levels in (9, 10):
        text = laughs(levels)
        started = time.perf_counter()
        try:
            load_documents(text)
            outcome = "loaded"
        except YamlLimitExceeded as exc:
            outcome = f"refused ({exc.name})"
        took = time.perf_counter() - started
        print(f"billion laughs, {levels} lines ({len(text)} bytes, 10^{levels} values): {outcome} "
              f"in {took * 1000:.2f} ms")
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(f"peak memory growth over both alias bombs: {grown:.1f} MB")
    files = [RESOURCE.format(i=i, a=i // 250, b=i % 250) for i in range(10_000)]
    started = time.perf_counter()
    for text in files:
        list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    plain = time.perf_counter() - started
    started = time.perf_counter()
    for text in files:
        load_documents(text)
    dialect = time.perf_counter() - started
    print(f"10,000 resource files: CSafeLoader {plain:.2f} s, homeport dialect with limit checks {dialect:.2f} s "
          f"(x{dialect / plain:.2f})")


if __name__ == "__main__":
    main()
