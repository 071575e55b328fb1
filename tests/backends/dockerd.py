"""Real Docker engines for tests: `dockerd` processes, each with its own data root, exec root, pidfile
and unix socket, no iptables, no bridge, the vfs storage driver (works in any container).

Images cannot be pulled here, so `homeport-test/busybox:1` is imported on each engine from a
busybox-static root filesystem (the equivalent of `tar -C rootfs -c . | docker import -`); its
`httpd` serves a real HTTP port for health checks. Containers use `network_mode: host` or `none`.

A missing `dockerd` or busybox fails the test with what to run (never a skip).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

TEST_IMAGE = "homeport-test/busybox:1"
FIX_HINT = "run `make test-deps` (scripts/install-test-deps.sh installs docker.io and busybox-static)"
BUSYBOX_APPLETS = ("sh", "httpd", "wget", "sleep", "env", "cat", "ls", "echo", "true", "false", "test", "[")
START_TIMEOUT = 60


class DockerUnavailable(Exception):
    """dockerd cannot be started; the message says what to do."""


@dataclass
class DockerEngine:
    """One running test engine."""

    name: str
    root: Path
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        """The engine's API socket."""
        return self.root / "docker.sock"

    @property
    def endpoint(self) -> str:
        """The unix:// endpoint homeport is configured with."""
        return f"unix://{self.socket}"

    def client(self) -> docker.APIClient:
        """A low-level SDK client for test setup and checks (not the code under test)."""
        return docker.APIClient(base_url=self.endpoint, version="auto", timeout=60)

    def log(self) -> str:
        """The tail of the engine's log, for failure messages."""
        path = self.root / "dockerd.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        """Remove the engine's containers, stop it, wait for it, and end any shim it left behind."""
        if self.process.poll() is None:
            with contextlib.suppress(docker.errors.DockerException, OSError):
                client = self.client()
                try:
                    for container in client.containers(all=True):
                        client.remove_container(container["Id"], force=True)
                finally:
                    client.close()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pid in _shims_of(self.root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _shims_of(root: Path) -> list[int]:
    """containerd shims started for this engine (their command line names its exec root)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            cmdline
            and cmdline[0].endswith(b"containerd-shim-runc-v2")
            and any(str(root).encode() in part for part in cmdline)
        ):
            pids.append(int(proc.name))
    return pids


def require_binaries() -> tuple[str, str]:
    """Paths of dockerd and busybox, or DockerUnavailable."""
    dockerd = shutil.which("dockerd") or ("/usr/sbin/dockerd" if Path("/usr/sbin/dockerd").exists() else None)
    busybox = shutil.which("busybox") or ("/bin/busybox" if Path("/bin/busybox").exists() else None)
    if not dockerd:
        raise DockerUnavailable(f"dockerd is not installed: {FIX_HINT}")
    if not busybox:
        raise DockerUnavailable(f"busybox is not installed: {FIX_HINT}")
    if os.geteuid() != 0:
        raise DockerUnavailable("dockerd needs root: run the docker provider tests as root")
    return dockerd, busybox


def overlay_works(base: Path | None = None) -> bool:
    """Whether an overlay filesystem can be mounted here (then an engine can use overlay2, far faster
    than vfs for image builds, which copies the whole root file system for every build step)."""
    if os.geteuid() != 0:
        return False
    root = Path(tempfile.mkdtemp(prefix="hp-ovl-", dir=base))
    try:
        for sub in ("lower", "upper", "work", "merged"):
            (root / sub).mkdir()
        options = f"lowerdir={root / 'lower'},upperdir={root / 'upper'},workdir={root / 'work'}"
        mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(root / "merged")],
                                 capture_output=True).returncode == 0
        if mounted:
            subprocess.run(["umount", str(root / "merged")], capture_output=True)
        return mounted
    finally:
        shutil.rmtree(root, ignore_errors=True)


def start_engine(name: str, base: Path | None = None, extra_args: list[str] | None = None,
                 storage_driver: str = "vfs") -> DockerEngine:
    """Start one dockerd in a fresh directory and wait until its API (unix socket) answers."""
    dockerd, _ = require_binaries()
    root = Path(tempfile.mkdtemp(prefix=f"hp-{name}-", dir=base))
    for sub in ("data", "exec"):
        (root / sub).mkdir()
    log = (root / "dockerd.log").open("wb")
    command = [
        dockerd,
        "--data-root",
        str(root / "data"),
        "--exec-root",
        str(root / "exec"),
        "--pidfile",
        str(root / "dockerd.pid"),
        "--host",
        f"unix://{root / 'docker.sock'}",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        f"--storage-driver={storage_driver}",
        "--config-file",
        str(_empty_config(root)),
        *(extra_args or []),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    engine = DockerEngine(name=name, root=root, process=process)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DockerUnavailable(f"dockerd {name} exited with {process.returncode}:\n{engine.log()}")
        if engine.socket.exists():
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
                sock.connect(str(engine.socket))
                client = engine.client()
                try:
                    client.ping()
                    return engine
                except docker.errors.DockerException:
                    pass
                finally:
                    client.close()
        time.sleep(0.2)
    engine.stop()
    raise DockerUnavailable(f"dockerd {name} did not answer within {START_TIMEOUT}s:\n{engine.log()}")


def _empty_config(root: Path) -> Path:
    """A daemon.json of our own, so a host /etc/docker/daemon.json cannot change the test engines."""
    path = root / "daemon.json"
    path.write_text("{}\n")
    return path


def busybox_rootfs_tar(www_text: str = "homeport test page\n") -> bytes:
    """A tar of a minimal root filesystem: busybox-static with its applets, /www/index.html, /etc/passwd."""
    _, busybox = require_binaries()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add_dir(path: str) -> None:
            info = tarfile.TarInfo(path)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)

        def add_file(path: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))

        for directory in ("bin", "etc", "tmp", "www", "data"):
            add_dir(directory)
        add_file("bin/busybox", Path(busybox).read_bytes(), 0o755)
        for applet in BUSYBOX_APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        add_file("etc/passwd", b"root:x:0:0:root:/:/bin/sh\n")
        add_file("etc/group", b"root:x:0:\n")
        add_file("www/index.html", www_text.encode())
    return buffer.getvalue()


def import_test_image(engine: DockerEngine, image: str = TEST_IMAGE) -> None:
    """Import the busybox image into an engine (offline; nothing is pulled)."""
    repository, _, tag = image.rpartition(":")
    client = engine.client()
    try:
        client.import_image_from_data(busybox_rootfs_tar(), repository=repository, tag=tag)
    finally:
        client.close()


def remove_engine_dir(engine: DockerEngine) -> None:
    """Delete an engine's directory after it stopped (mounts it left behind are detached first)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        mounts = Path("/proc/mounts").read_text().splitlines()
        for line in reversed(mounts):
            target = line.split()[1]
            if target.startswith(str(engine.root)):
                subprocess.run(["umount", "-l", target], check=False, capture_output=True)
    shutil.rmtree(engine.root, ignore_errors=True)


@contextlib.contextmanager
def running_engines(
    names: list[str], extra_args: dict[str, list[str]] | None = None
) -> Iterator[dict[str, DockerEngine]]:
    """Start engines with the test image imported; stop and delete them afterwards."""
    engines: dict[str, DockerEngine] = {}
    try:
        for name in names:
            engines[name] = start_engine(name, extra_args=(extra_args or {}).get(name))
            import_test_image(engines[name])
        yield engines
    finally:
        for engine in engines.values():
            engine.stop()
            remove_engine_dir(engine)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for busybox httpd on the host network)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def docker_engines() -> Iterator[dict[str, DockerEngine]]:
    """Two real engines, node1 and node2, for the whole session."""
    try:
        with running_engines(["node1", "node2"]) as engines:
            yield engines
    except DockerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def spare_engine() -> Iterator[DockerEngine]:
    """A third engine of its own, for tests that stop it."""
    try:
        with running_engines(["spare"]) as engines:
            yield engines["spare"]
    except DockerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
