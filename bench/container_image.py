"""Container image: size with every provider extra, build time, and start to healthy.

Builds the Dockerfile on its own test dockerd (overlay2 where an overlay mounts, else vfs) from the offline
bookworm + python3.11 base (scripts/build-test-base-image.sh; the published base is python:3.11-slim-bookworm,
which cannot be pulled here), then starts the daemon on a committed example lab (SQLite in the state volume,
host network) and times: start -> /healthz answers, start -> Docker reports the container healthy.
Run: .venv/bin/python bench/container_image.py   (as root; ~5 min, most of it the build)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.backends.dockerd import overlay_works, start_engine  # noqa: E402

SIZE_TARGET_MB = 250
HEALTHY_TARGET_S = 5.0


def main() -> None:
    """Build, measure, print one table."""
    subprocess.run([str(ROOT / "scripts" / "build-test-base-image.sh")], check=True)
    driver = "overlay2" if overlay_works() else "vfs"
    engine = start_engine("bench-image", storage_driver=driver)
    lab = Path(tempfile.mkdtemp(prefix="hp-bench-lab-"))
    try:
        client = engine.client()
        with open("/var/cache/homeport-test/bookworm-python3.11.tar", "rb") as f:
            client.import_image_from_data(f.read(), repository="homeport-test/bookworm-python", tag="3.11")
        started = time.monotonic()
        for chunk in client.build(path=str(ROOT), tag="homeport:bench", network_mode="host", rm=True, decode=True,
                                  buildargs={"BASE_IMAGE": "homeport-test/bookworm-python:3.11"}):
            if "error" in chunk:
                raise SystemExit(f"build failed: {chunk['error']}")
        build_s = time.monotonic() - started
        size_mb = client.inspect_image("homeport:bench")["Size"] / 1e6
        base_mb = client.inspect_image("homeport-test/bookworm-python:3.11")["Size"] / 1e6
        shutil.rmtree(lab)
        subprocess.run([str(ROOT / ".venv" / "bin" / "homeport"), "init", str(lab)], check=True, capture_output=True)
        os.chmod(lab, 0o755)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        docker = ["docker", "-H", engine.endpoint]
        started = time.monotonic()
        subprocess.run([*docker, "run", "-d", "--name", "hp-bench", "--network", "host", "-e", "HOMEPORT_REPO_URL=/lab",
                        "-e", "HOMEPORT_HOST=127.0.0.1", "-e", f"HOMEPORT_PORT={port}", "-v", f"{lab}:/lab:ro",
                        "homeport:bench"], check=True, capture_output=True)
        answering = healthy = None
        while time.monotonic() - started < 120 and healthy is None:
            if answering is None:
                url = f"http://127.0.0.1:{port}/healthz"
                with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1):
                    answering = time.monotonic() - started
            state = json.loads(subprocess.run([*docker, "inspect", "hp-bench"], capture_output=True, text=True,
                                              check=True).stdout)[0]["State"]
            if state.get("Health", {}).get("Status") == "healthy":
                healthy = time.monotonic() - started
            time.sleep(0.1)
        load = os.getloadavg()[0]
        print(f"container image (storage driver {driver}, load {load:.1f} on {os.cpu_count()} cores)")
        print(f"{'figure':48} {'value':>10} {'target':>10} {'ratio':>7}")
        print(f"{'image size, every provider extra (MB)':48} {size_mb:10.0f} {SIZE_TARGET_MB:10d} "
              f"{size_mb / SIZE_TARGET_MB:7.2f}")
        print(f"{'  of which the base image (MB)':48} {base_mb:10.0f}")
        print(f"{'build time, cold (s)':48} {build_s:10.1f}")
        for label, value in (("start -> /healthz answers (s)", answering),
                             ("start -> Docker health 'healthy' (s)", healthy)):
            shown = f"{value:10.1f}" if value is not None else f"{'never':>10}"
            ratio = f"{value / HEALTHY_TARGET_S:7.2f}" if value is not None else ""
            print(f"{label:48} {shown} {HEALTHY_TARGET_S:10.1f} {ratio}")
    finally:
        engine.stop()
        subprocess.run(["umount", str(engine.root / "exec" / "netns" / "default")], capture_output=True)
        shutil.rmtree(engine.root, ignore_errors=True)
        shutil.rmtree(lab, ignore_errors=True)


if __name__ == "__main__":
    main()
