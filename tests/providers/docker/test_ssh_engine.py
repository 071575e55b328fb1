"""An engine reached over SSH (`ssh://`), as on a real Docker host: a real sshd in front of a real dockerd.

Both the Docker SDK and Compose run the system `ssh` client, which takes its keys and host keys from
the user's ssh configuration. So that the test never touches ~/.ssh, an `ssh` on PATH (for this test
only) adds `-F <test config>` naming the session's key and known_hosts file; everything after it
is the real OpenSSH client, server and `docker system dial-stdio` on the far side.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.models.plan import Change, Op
from reconciler.providers.base import ProviderContext
from reconciler.providers.docker import DockerProvider
from reconciler.store.provider_state import DbProviderState
from tests.backends.dockerd import DockerEngine, free_port
from tests.providers.docker.conftest import LAB, render, web_resource
from tests.providers.docker.test_converge import http_get

pytestmark = pytest.mark.slow  # real dockerd engines

SSHD = Path("/usr/sbin/sshd")
HOST_ALIAS = "homeport-docker-test"


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, capture_output=True)


@pytest.fixture
def ssh_docker_host(
    docker_engines: dict[str, DockerEngine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """An sshd on 127.0.0.1 whose sessions talk to engine node1; yields the ssh:// endpoint."""
    if not SSHD.exists() or shutil.which("ssh") is None:
        pytest.fail("OpenSSH is not installed: run `make test-deps` (installs openssh-server)", pytrace=False)
    port = free_port()
    root = tmp_path / "ssh"
    root.mkdir()
    _keygen(root / "client")
    _keygen(root / "host")
    (root / "authorized_keys").write_text((root / "client.pub").read_text())
    (root / "authorized_keys").chmod(0o600)
    engine = docker_engines["node1"]
    (root / "sshd.conf").write_text(
        f"ListenAddress 127.0.0.1:{port}\nHostKey {root / 'host'}\nPidFile {root / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
        f"SetEnv DOCKER_HOST={engine.endpoint}\nLogLevel ERROR\n"
    )
    host_key = (root / "host.pub").read_text().split()
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    (root / "ssh_config").write_text(
        f"Host {HOST_ALIAS}\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile {root / 'client'}\n"
        f"  IdentitiesOnly yes\n  UserKnownHostsFile {root / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
        # One TCP connection for the many short sessions the SDK and Compose open (as docs/providers/docker.md advises).
        f"  ControlMaster auto\n  ControlPath /tmp/hp-ssh-{port}-%C\n  ControlPersist 60s\n"
    )
    bin_dir = root / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {root / "ssh_config"} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    log = (root / "sshd.log").open("wb")
    sshd = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(root / "sshd.conf")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["ssh", HOST_ALIAS, "true"], capture_output=True).returncode != 0:
            if sshd.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"test sshd did not start: {(root / 'sshd.log').read_text()}", pytrace=False)
            time.sleep(0.2)
        # The port goes in the endpoint: the Docker SDK passes `-p 22` to ssh when the URL names none.
        yield f"ssh://{os.environ.get('USER') or 'root'}@{HOST_ALIAS}:{port}"
    finally:
        subprocess.run(["ssh", "-O", "exit", HOST_ALIAS], capture_output=True)
        sshd.terminate()
        sshd.wait(timeout=10)
        log.close()


def test_engine_over_ssh(
    ssh_docker_host: str, clean_engines: dict[str, DockerEngine], state_db: Any, tmp_path: Path
) -> None:
    config = ProviderConfig(type="docker", endpoint=ssh_docker_host, nodes=["nas"], options={"wait_timeout": 60})
    ctx = ProviderContext(
        lab=LAB,
        name="docker",
        config=config,
        state=DbProviderState(state_db, LAB, "docker"),
        work_dir=tmp_path / "work",
    )
    provider = DockerProvider(ctx)
    try:
        inventory = provider.observe()
        assert inventory.errors == []
        assert [(n.name, n.status) for n in inventory.nodes] == [("nas", "online")]

        web = web_resource("over-ssh", free_port(), node="nas")
        change = Change(
            op=Op.create, resource=web.name, provider="docker", provider_type="docker", node="nas", reason="test"
        )
        result = provider.apply(change, web, render(web))
        assert result.node == "nas" and "1 healthy" in result.message
        assert http_get(web.service.healthcheck.port)  # type: ignore[union-attr]
        observed = provider.observe().owned(LAB)["over-ssh"]
        assert observed.node == "nas" and observed.status == "running"

        # The container really is on the engine behind the SSH host.
        client = clean_engines["node1"].client()
        try:
            assert [c["Names"] for c in client.containers(filters={"name": "lab1-over-ssh"})] == [["/lab1-over-ssh"]]
        finally:
            client.close()

        gone = provider.apply(
            Change(
                op=Op.delete, resource=web.name, provider="docker", provider_type="docker", node="nas", reason="test"
            ),
            None,
            None,
        )
        assert "named volumes kept" in gone.message
        assert provider.observe().owned(LAB) == {}
    finally:
        provider.close()
