"""moto's server as a real AWS test backend: a separate `moto_server` process on 127.0.0.1.

Started once per test session on a free port (`moto_server -H 127.0.0.1 -p PORT`), reset through
its `/moto-api/reset` endpoint before every test that asks for `moto_endpoint`, and stopped at the
end. boto3 talks to it with `endpoint_url`; the fixture's fake keys are exported under
MOTO_TEST_ACCESS_KEY / MOTO_TEST_SECRET_KEY for providers configured with `access_key_env`.

moto 5.2.5 is laxer than AWS (see docs/providers/aws.md): it lets a running instance change type,
a CloudFormation update does not reach EC2, drift detection answers HTTP 500. Tests must assert
what moto will not catch themselves. A missing `moto_server` fails the test (never skips).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ACCESS_KEY_ENV = "MOTO_TEST_ACCESS_KEY"
SECRET_KEY_ENV = "MOTO_TEST_SECRET_KEY"
FAKE_ACCESS_KEY = "AKIAMOTOTESTKEY00001"
FAKE_SECRET_KEY = "moto-test-secret-not-a-real-key"
FIX_HINT = "install the dev dependencies (`uv sync --frozen --all-extras`; moto[server] is in the dev group)"


@dataclass
class MotoServer:
    """A running moto server."""

    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path

    def reset(self) -> None:
        """Forget every AWS object (POST /moto-api/reset)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _moto_binary() -> str:
    beside = Path(sys.executable).with_name("moto_server")
    found = str(beside) if beside.exists() else shutil.which("moto_server")
    if not found:
        pytest.fail(f"moto_server is not installed: {FIX_HINT}", pytrace=False)
    return found


def start_moto(log_dir: Path) -> MotoServer:
    """Start moto_server on a free 127.0.0.1 port and wait until it answers."""
    port = _free_port()
    log = log_dir / f"moto-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [_moto_binary(), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"moto_server exited with {process.returncode}: {log.read_text()[-2000:]}", pytrace=False
            )
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2) as response:
                response.read()
            return MotoServer(endpoint=endpoint, process=process, log=log)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    process.kill()
    pytest.fail(
        f"moto_server did not answer on {endpoint} within 30 s: {log.read_text()[-2000:]}", pytrace=False
    )


def stop_moto(server: MotoServer) -> None:
    """Stop the server process we started."""
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto_server process for the session."""
    server = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        stop_moto(server)


@pytest.fixture
def moto_endpoint(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A freshly reset moto endpoint URL; fake keys in MOTO_TEST_ACCESS_KEY/SECRET_KEY, no real profile."""
    moto_server.reset()
    monkeypatch.setenv(ACCESS_KEY_ENV, FAKE_ACCESS_KEY)
    monkeypatch.setenv(SECRET_KEY_ENV, FAKE_SECRET_KEY)
    # Never let a developer's real AWS configuration leak into a test.
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return moto_server.endpoint
