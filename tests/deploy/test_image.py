"""The container image, built from the Dockerfile on a test dockerd and run with Compose.

No registry can be reached here, so the base is Debian bookworm with Debian's python3.11 made by
debootstrap (scripts/build-test-base-image.sh) and passed as BASE_IMAGE instead of python:3.11-slim.
The image is the Dockerfile's default (EXTRAS: the common homelab's providers); bench/container_image.py
also builds the one with every provider extra. The daemon in the container reconciles a lab mounted
read-only, against the suite's real PostgreSQL, with the database URL given as a Compose secret file; it
must run as a non-root user and turn healthy.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from tests.backends.dockerd import DockerEngine, overlay_works, start_engine
from tests.render.lab import ROOT

BASE_TAG = "homeport-test/bookworm-python:3.11"
IMAGE = "homeport:test"
COMPOSE = ROOT / ".venv" / "bin" / "docker-compose"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def engine() -> Iterator[DockerEngine]:
    driver = "overlay2" if overlay_works() else "vfs"
    eng = start_engine("image", storage_driver=driver)
    try:
        yield eng
    finally:
        eng.stop()
        subprocess.run(["umount", str(eng.root / "exec" / "netns" / "default")], capture_output=True)
        shutil.rmtree(eng.root, ignore_errors=True)


@pytest.fixture(scope="module")
def image(engine: DockerEngine) -> dict[str, Any]:
    """The image built from this checkout (every provider extra), and the build's figures."""
    tarball = Path(subprocess.run([str(ROOT / "scripts" / "build-test-base-image.sh")], check=True, timeout=1800,
                                  capture_output=True, text=True).stdout.split()[-1])
    client = engine.client()
    with tarball.open("rb") as f:
        client.import_image_from_data(f.read(), repository=BASE_TAG.split(":")[0], tag="3.11")
    started = time.monotonic()
    log: list[str] = []
    for chunk in client.build(path=str(ROOT), tag=IMAGE, buildargs={"BASE_IMAGE": BASE_TAG, "REVISION": "test"},
                              network_mode="host", rm=True, forcerm=True, decode=True, timeout=1800):
        log.append(str(chunk.get("stream") or chunk.get("error") or ""))
        if "error" in chunk:
            pytest.fail("docker build failed:\n" + "".join(log)[-4000:])
    info = client.inspect_image(IMAGE)
    return {"info": info, "build_seconds": time.monotonic() - started, "size": info["Size"],
            "base_size": client.inspect_image(BASE_TAG)["Size"]}


def test_image_runs_as_non_root_with_labels_and_a_health_check(image: dict[str, Any], engine: DockerEngine) -> None:
    config = image["info"]["Config"]
    assert config["User"] == "homeport:homeport"
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "homeport"
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.revision"] == "test"
    assert config["Healthcheck"]["Test"] == ["CMD", "homeport-healthcheck"]
    assert config["Entrypoint"] == ["homeport-entrypoint"] and config["Cmd"] == ["daemon"]
    out = subprocess.run(["docker", "-H", engine.endpoint, "run", "--rm", "--network", "none", IMAGE,
                          "sh", "-c", "id -u; homeport version; test -w /opt/homeport && echo writable || echo ro"],
                         capture_output=True, text=True, timeout=120)
    uid, version, writable = out.stdout.split("\n")[:3]
    assert uid == "10001" and version.startswith("homeport 0.") and writable == "ro"
    print(f"\nimage: {image['size'] / 1e6:.0f} MB ({(image['size'] - image['base_size']) / 1e6:.0f} MB on top of the "
          f"{image['base_size'] / 1e6:.0f} MB base), built in {image['build_seconds']:.0f} s")


def test_the_default_extras_still_load_after_the_trim(image: dict[str, Any], engine: DockerEngine) -> None:
    """Stripped extensions and bundled libraries still load: each default provider, Ansible, Compose, the
    daemon's and the CLI's modules; Ansible's modules (run on managed hosts) keep their source."""
    check = ("from reconciler.providers.registry import provider_class\n"
             "for kind in ('sim', 'proxmox', 'docker', 'lxd'): provider_class(kind)\n"
             "import ansible_runner, ansible.cli.playbook, psycopg, pygit2, cryptography.hazmat.bindings._rust\n"
             "import reconciler.cli.daemon_commands, reconciler.web.serve, mcp_server.mount\n"
             "print(psycopg.pq.__impl__, pygit2.LIBGIT2_VERSION)\n")
    out = subprocess.run(["docker", "-H", engine.endpoint, "run", "--rm", "--network", "none", "--entrypoint", "sh",
                          IMAGE, "-c", "python3 -c \"$0\" && docker-compose version --short && "
                          "ls /opt/homeport/lib/python3.11/site-packages/ansible/modules/ping.py", check],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    impl, libgit2, compose, ping = out.stdout.split()
    assert impl == "binary" and libgit2.startswith("1.") and compose.startswith("5.") and ping.endswith("ping.py")
    missing = subprocess.run(["docker", "-H", engine.endpoint, "run", "--rm", "--network", "none", "--entrypoint",
                              "python3", IMAGE, "-c", "import boto3"], capture_output=True, text=True, timeout=120)
    assert "No module named 'boto3'" in missing.stderr, "AWS is not a default extra (--build-arg EXTRAS=all)"


def test_daemon_without_a_lab_says_what_to_set(image: dict[str, Any], engine: DockerEngine) -> None:
    out = subprocess.run(["docker", "-H", engine.endpoint, "run", "--rm", "--network", "none", IMAGE],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 64
    assert "set HOMEPORT_REPO_URL" in out.stderr


def _wait_answering(port: int, deadline: float) -> float:
    started = time.monotonic()
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"nothing answered on 127.0.0.1:{port}/healthz")


def _wait_healthy(engine: DockerEngine, container: str, deadline: float) -> float:
    started = time.monotonic()
    while time.monotonic() < deadline:
        state = json.loads(subprocess.run(["docker", "-H", engine.endpoint, "inspect", container],
                                          capture_output=True, text=True, check=True).stdout)[0]["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return time.monotonic() - started
        if state["Status"] in ("exited", "dead"):
            break
        time.sleep(0.5)
    logs = subprocess.run(["docker", "-H", engine.endpoint, "logs", container], capture_output=True, text=True)
    pytest.fail(f"{container} never turned healthy:\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}")


def test_compose_runs_the_daemon_which_reconciles_a_mounted_lab(
    image: dict[str, Any], engine: DockerEngine, pg_url: str, tmp_path: Path
) -> None:
    lab = tmp_path / "lab"
    subprocess.run([str(ROOT / ".venv" / "bin" / "homeport"), "init", str(lab)], check=True, capture_output=True)
    lab.chmod(0o755)
    secret = tmp_path / "database_url"
    secret.write_text(pg_url, encoding="utf-8")
    secret.chmod(0o644)
    port = _free_port()
    override = tmp_path / "compose.test.yaml"
    override.write_text(yaml.safe_dump({
        "services": {"homeport": {
            "image": IMAGE, "network_mode": "host", "ports": [],
            "environment": {"HOMEPORT_REPO_URL": "/lab", "HOMEPORT_HOST": "127.0.0.1", "HOMEPORT_PORT": str(port)},
            "volumes": [f"{lab}:/lab:ro"]}},
        "secrets": {"homeport_database_url": {"file": str(secret)}},
    }), encoding="utf-8")
    project = f"hp-image-{port}"
    compose = [str(COMPOSE), "-H", engine.endpoint, "-p", project, "-f", str(ROOT / "deploy" / "compose.yaml"),
               "-f", str(override)]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HOMEPORT_REPO_URL": "/lab"}
    config = subprocess.run([*compose, "config", "--format", "json"], env=env, capture_output=True, text=True)
    assert config.returncode == 0, config.stderr
    up = subprocess.run([*compose, "up", "-d", "--no-deps", "--no-build", "homeport"], env=env,
                        capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    container = f"{project}-homeport-1"
    try:
        answering = _wait_answering(port, time.monotonic() + 120)
        seconds = _wait_healthy(engine, container, time.monotonic() + 120)
        print(f"\nstart to /healthz answering: {answering:.1f} s; to Docker's health status healthy: {seconds:.1f} s")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200
        top = subprocess.run(["docker", "-H", engine.endpoint, "exec", container, "sh", "-c",
                              "stat -c %u /proc/1; id -u; stat -c %u:%a /var/lib/homeport"],
                             capture_output=True, text=True, check=True).stdout.split()
        assert top == ["10001", "10001", "10001:700"], "pid 1, exec'd commands and the state volume are non-root"
        # The first cycle mirrors /lab and applies main on the sim provider: runs and instances in PostgreSQL.
        deadline = time.monotonic() + 120
        runs: list[tuple[Any, ...]] = []
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.errors.UndefinedTable), psycopg.connect(
                    pg_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
                runs = conn.execute("select status from reconcile_runs where status = 'ok'").fetchall()
                if runs:
                    instances = conn.execute("select count(*) from deployment_instances").fetchone()
                    assert instances is not None and instances[0] == 3
                    break
            time.sleep(1)
        assert runs, "no successful reconcile run was recorded"
        # The CLI in the container reads the same database (the secret file) and the mirrored lab.
        mirror = "/var/lib/homeport/mirror.git"
        status = subprocess.run(["docker", "-H", engine.endpoint, "exec", container, "homeport", "status",
                                 "--lab", mirror], capture_output=True, text=True, timeout=120)
        assert "3 managed resources" in status.stdout, status.stdout + status.stderr
        token = subprocess.run(["docker", "-H", engine.endpoint, "exec", container, "homeport", "token", "create",
                                "me", "--scopes", "read", "--lab", mirror], capture_output=True, text=True,
                               timeout=120).stdout.split()[-1]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/lab",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["name"] == "home"
        assert pg_url.split("@")[0] not in (status.stdout + status.stderr), "no database credentials printed"
        assert not (lab / ".homeport").exists(), "the mounted lab stays untouched"
    finally:
        subprocess.run([*compose, "down", "-v"], env=env, capture_output=True, timeout=120)
