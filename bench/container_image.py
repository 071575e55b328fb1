"""Container image: size (the default image and the one with every provider extra), build time, start to healthy.

Builds the Dockerfile on its own test dockerd (overlay2 where an overlay mounts, else vfs) from the offline
bookworm + python3.11 base (scripts/build-test-base-image.sh: debian:bookworm-slim's minimizing config, so
it weighs what the published base python:3.11-slim-bookworm does, ~125 MB; that base cannot be pulled here).
Sizes are Docker's (uncompressed), and the part homeport adds on top of the base is given apart, since that
part is what another base would carry too. Then it starts the daemon of the default image on a committed
example lab (SQLite in the state volume, host network) several times and times: start -> /healthz answers,
start -> Docker reports the container healthy. The machine's load is printed with the figures.
Run: .venv/bin/python bench/container_image.py [--starts N] [--default-only]   (as root; ~10 min, mostly builds)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.backends.dockerd import DockerEngine, overlay_works, start_engine  # noqa: E402

SIZE_TARGET_MB = 250
HEALTHY_TARGET_S = 5.0
BASE_TAG = "homeport-test/bookworm-python:3.11"
DEFAULT_EXTRAS = "postgres,proxmox,docker,lxd,ansible"  # the Dockerfile's default


def build(engine: DockerEngine, tag: str, extras: str | None) -> float:
    """Build the Dockerfile (EXTRAS as given, else the Dockerfile's default); seconds taken."""
    args = {"BASE_IMAGE": BASE_TAG, **({"EXTRAS": extras} if extras else {})}
    started = time.monotonic()
    for chunk in engine.client().build(path=str(ROOT), tag=tag, network_mode="host", rm=True, forcerm=True,
                                       decode=True, buildargs=args, timeout=1800):
        if "error" in chunk:
            raise SystemExit(f"build of {tag} failed: {chunk['error']}")
    return time.monotonic() - started


def container_cpu_seconds(container_id: str) -> float | None:
    """CPU time the container has used so far (its cgroup: v1 cpuacct or v2 cpu.stat), None where unreadable."""
    v1 = Path("/sys/fs/cgroup/cpuacct/docker") / container_id / "cpuacct.usage"
    with contextlib.suppress(OSError, ValueError):
        return int(v1.read_text()) / 1e9
    for v2 in (Path("/sys/fs/cgroup/docker") / container_id / "cpu.stat",
               Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat")):
        with contextlib.suppress(OSError, ValueError):
            fields = dict(line.split() for line in v2.read_text().splitlines())
            return int(fields["usage_usec"]) / 1e6
    return None


def start_once(engine: DockerEngine, image: str, lab: Path, name: str) -> tuple[float | None, float | None,
                                                                                  float | None]:
    """Start the daemon on lab; (seconds to /healthz answering, seconds to Docker's 'healthy', CPU seconds the
    container used until /healthz answered: the figure the machine's load does not change)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    docker = ["docker", "-H", engine.endpoint]
    started = time.monotonic()
    container_id = subprocess.run(
        [*docker, "run", "-d", "--name", name, "--network", "host", "-e", "HOMEPORT_REPO_URL=/lab",
         "-e", "HOMEPORT_HOST=127.0.0.1", "-e", f"HOMEPORT_PORT={port}", "-v", f"{lab}:/lab:ro", image],
        check=True, capture_output=True, text=True).stdout.strip()
    answering = healthy = cpu = None
    try:
        while time.monotonic() - started < 120 and healthy is None:
            if answering is None:
                with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                                                          timeout=1):
                    answering = time.monotonic() - started
                    cpu = container_cpu_seconds(container_id)
            state = json.loads(subprocess.run([*docker, "inspect", name], capture_output=True, text=True,
                                              check=True).stdout)[0]["State"]
            if state.get("Health", {}).get("Status") == "healthy":
                healthy = time.monotonic() - started
            time.sleep(0.05)
    finally:
        subprocess.run([*docker, "rm", "-f", "-v", name], capture_output=True)
    return answering, healthy, cpu


def main() -> None:
    """Build, measure, print one table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=3, help="how many times to start the default image")
    parser.add_argument("--default-only", action="store_true", help="skip the image with every provider extra")
    options = parser.parse_args()
    tarball = subprocess.run([str(ROOT / "scripts" / "build-test-base-image.sh")], check=True, capture_output=True,
                             text=True).stdout.split()[-1]
    driver = "overlay2" if overlay_works() else "vfs"
    engine = start_engine("bench-image", storage_driver=driver)
    lab = Path(tempfile.mkdtemp(prefix="hp-bench-lab-"))
    load_before = os.getloadavg()[0]
    try:
        client = engine.client()
        with open(tarball, "rb") as f:
            client.import_image_from_data(f.read(), repository=BASE_TAG.split(":")[0], tag="3.11")
        base_mb = client.inspect_image(BASE_TAG)["Size"] / 1e6
        images = [("homeport:bench", None, "default extras")]
        if not options.default_only:
            images.append(("homeport:bench-all", "all", "every provider extra"))
        built = []
        for tag, extras, label in images:
            seconds = build(engine, tag, extras)
            built.append((label, client.inspect_image(tag)["Size"] / 1e6, seconds))
        shutil.rmtree(lab)
        subprocess.run([str(ROOT / ".venv" / "bin" / "homeport"), "init", str(lab)], check=True, capture_output=True)
        os.chmod(lab, 0o755)
        runs = [start_once(engine, "homeport:bench", lab, f"hp-bench-{i}") for i in range(options.starts)]
        load_after = os.getloadavg()[0]
        print(f"container image (storage driver {driver}, load {load_before:.1f} before / {load_after:.1f} after "
              f"on {os.cpu_count()} cores; default extras: {DEFAULT_EXTRAS})")
        print(f"{'figure':52} {'value':>10} {'target':>10} {'ratio':>7}")
        print(f"{'test base image, bookworm-slim + python3.11 (MB)':52} {base_mb:10.0f}")
        for label, size_mb, seconds in built:
            print(f"{'image size, ' + label + ' (MB)':52} {size_mb:10.0f} {SIZE_TARGET_MB:10d} "
                  f"{size_mb / SIZE_TARGET_MB:7.2f}")
            print(f"{'  of which homeport on top of the base (MB)':52} {size_mb - base_mb:10.0f}")
            print(f"{'  build time (s)':52} {seconds:10.1f}")
        for index, label in ((0, "start -> /healthz answers (s)"), (1, "start -> Docker health 'healthy' (s)"),
                             (2, "container CPU until /healthz answers (s)")):
            values = [run[index] for run in runs]
            known = [v for v in values if v is not None]
            median = statistics.median(known) if known and len(known) == len(values) else None
            shown = f"{median:10.1f}" if median is not None else f"{'never':>10}"
            target = HEALTHY_TARGET_S if index < 2 else None
            ratio = f"{median / target:7.2f}" if median is not None and target else ""
            each = ", ".join(f"{v:.1f}" if v is not None else "never" for v in values)
            print(f"{label + ', median':52} {shown} {target or '':>10} {ratio:>7}   ({each})")
    finally:
        engine.stop()
        subprocess.run(["umount", str(engine.root / "exec" / "netns" / "default")], capture_output=True)
        shutil.rmtree(engine.root, ignore_errors=True)
        shutil.rmtree(lab, ignore_errors=True)


if __name__ == "__main__":
    main()
