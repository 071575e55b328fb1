"""Real sshd test hosts on loopback addresses 127.0.0.11-13, port 2222 (the Ansible configure step's backend).

When another test session on this machine holds 2222, the next port free on all three addresses is used:
tests take the port from `SshHost.port`, never assume 2222.

`ssh_hosts` (session scope) starts one OpenSSH server per address, each with its own host key,
all accepting one client key (ed25519, made for the session) for the current user; public-key
login only. The servers stop at the end of the session. Missing openssh-server fails the test with
what to run (never skips).
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ADDRESSES = ("127.0.0.11", "127.0.0.12", "127.0.0.13")
PORT = 2222
SSHD = Path("/usr/sbin/sshd")
FIX_HINT = "run `make test-deps` (scripts/install-test-deps.sh installs openssh-server)"
START_TIMEOUT = 20.0


@dataclass
class SshHost:
    """One running sshd."""

    address: str
    port: int
    host_public_key: str
    process: subprocess.Popen[bytes]


@dataclass
class SshHosts:
    """The test hosts and the key and user that log in to them."""

    hosts: list[SshHost]
    user: str
    private_key: Path
    public_key: str
    root: Path
    # The hosts share this machine's OS; its system Python runs Ansible's modules.
    python: str = "/usr/bin/python3"


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _bindable(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """2222, or the next port free on all three addresses (another test session on this machine may hold it)."""
    for port in range(PORT, PORT + 100):
        if all(_bindable(a, port) for a in ADDRESSES):
            return port
    raise RuntimeError(f"no free port in {PORT}-{PORT + 99} on {', '.join(ADDRESSES)}")


def _config(root: Path, address: str, host_key: Path, authorized: Path, port: int) -> Path:
    cfg = root / f"sshd_{address}.conf"
    cfg.write_text(
        f"ListenAddress {address}:{port}\n"
        f"HostKey {host_key}\n"
        f"PidFile {root / f'sshd_{address}.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\nLogLevel ERROR\n"
    )
    return cfg


def start_ssh_hosts(root: Path) -> SshHosts:
    """Start the sshd test hosts under root (keys, configs, pid files); raise with a remedy if impossible."""
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        raise RuntimeError(f"OpenSSH server is not installed ({SSHD} missing); {FIX_HINT}")
    port = free_port()
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation dir sshd insists on
    client_key = root / "id_ed25519"
    _keygen(client_key, "homeport-test")
    authorized = root / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    authorized.chmod(0o600)
    hosts: list[SshHost] = []
    try:
        for address in ADDRESSES:
            host_key = root / f"host_{address}"
            _keygen(host_key, f"host-{address}")
            cfg = _config(root, address, host_key, authorized, port)
            host_public = Path(f"{host_key}.pub").read_text().strip()
            proc = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(cfg)],
                stdout=subprocess.DEVNULL,
                stderr=(root / f"sshd_{address}.log").open("wb"),
            )
            hosts.append(SshHost(address, port, host_public, proc))
        deadline = time.monotonic() + START_TIMEOUT
        for host in hosts:
            while not _listening(host.address, host.port):
                if host.process.poll() is not None or time.monotonic() > deadline:
                    log = (root / f"sshd_{host.address}.log").read_text(errors="replace")
                    raise RuntimeError(f"sshd on {host.address}:{host.port} did not start: {log.strip()}")
                time.sleep(0.05)
    except BaseException:
        stop_ssh_hosts(hosts)
        raise
    return SshHosts(
        hosts=hosts,
        user=getpass.getuser(),
        private_key=client_key,
        public_key=Path(f"{client_key}.pub").read_text().strip(),
        root=root,
    )


def stop_ssh_hosts(hosts: list[SshHost]) -> None:
    """Stop the servers this module started (by their process, never by name)."""
    for host in hosts:
        if host.process.poll() is None:
            host.process.terminate()
    for host in hosts:
        try:
            host.process.wait(10)
        except subprocess.TimeoutExpired:
            host.process.kill()
            host.process.wait(10)


@pytest.fixture(scope="session")
def ssh_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHosts]:
    """Three running sshd test hosts on 127.0.0.11-13:2222 and the key that logs in to them."""
    try:
        started = start_ssh_hosts(tmp_path_factory.mktemp("sshd"))
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"the sshd test hosts cannot start: {exc}")
    try:
        yield started
    finally:
        stop_ssh_hosts(started.hosts)
