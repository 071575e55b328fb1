"""A real LXD daemon for tests: Debian's lxd 5.0, started by hand (no systemd) in a private LXD_DIR.

`lxd --group root --logfile ...` then `lxd waitready`; `lxd init --preseed` with a `dir` storage pool,
a default profile holding only a root disk, and images.auto_update_interval "0" (never `lxd init --auto`:
it makes a bridge and probes the network). Stopped with `lxd shutdown` at the end of the session.

Images come from scripts/build-lxd-images.sh (offline, cached in /var/cache/homeport-test/lxd-images):
`homeport-test/busybox` and `homeport-test/debian` (sshd + python3). Networking without a bridge:
`veth_pair()` makes a veth pair on addresses the test chooses (10.203.x.0/24); the instance takes the
inner end as a `physical` NIC and its init applies the address from cloud-init.network-config.

One LXD test session at a time on this machine (container cgroup names are global): the session takes
/tmp/homeport-lxd.lock. A missing lxd or image fails with what to run (never a skip).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

IMAGES = Path(os.environ.get("HOMEPORT_LXD_IMAGES", "/var/cache/homeport-test/lxd-images"))
BUSYBOX = "homeport-test/busybox"
DEBIAN = "homeport-test/debian"
VM_SHAPE = "homeport-test/vm-shape"  # a virtual-machine image (metadata + a blank qcow2): LXD refuses VMs here
LOCK = Path("/tmp/homeport-lxd.lock")
FIX_HINT = "run `make test-deps` (scripts/install-test-deps.sh installs lxd and builds the test images)"
PRESEED = """\
config:
  images.auto_update_interval: "0"
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  description: homeport tests (root disk only, no network)
  devices:
    root: {path: /, pool: default, type: disk}
"""


@dataclass
class HttpsAccess:
    """The daemon's HTTPS endpoint, its server certificate and a client certificate and key."""

    endpoint: str
    server_cert: Path
    client_cert: Path
    client_key: Path


@dataclass
class LxdDaemon:
    """One running daemon: its directory, socket and the test images' fingerprints by alias."""

    root: Path
    process: subprocess.Popen[bytes]
    images: dict[str, str]
    https_address: str | None = None

    @property
    def socket(self) -> Path:
        """The daemon's unix socket (the provider's endpoint)."""
        return self.root / "unix.socket"

    @property
    def endpoint(self) -> str:
        """The endpoint homeport.yaml names."""
        return f"unix://{self.socket}"

    def lxc(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the `lxc` client against this daemon (test setup and checks, not the code under test)."""
        return subprocess.run(
            ["lxc", *args],
            env={**os.environ, "LXD_DIR": str(self.root)},
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )

    def names(self) -> list[str]:
        """Instance names, sorted."""
        out = self.lxc("list", "--format", "csv", "-c", "n").stdout
        return sorted(line for line in out.splitlines() if line)

    def config(self, name: str, key: str) -> str:
        """One config key of an instance ('' when unset)."""
        return self.lxc("config", "get", name, key).stdout.strip()

    def wipe(self) -> None:
        """Delete every instance (between tests)."""
        for name in self.names():
            self.lxc("delete", "--force", name, check=False)

    def https(self, folder: Path, *, trusted: bool = True) -> HttpsAccess:
        """Listen on 127.0.0.1:<free port> over HTTPS and make a client certificate (trusted unless told)."""
        if self.https_address is None:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            self.https_address = f"127.0.0.1:{port}"
            self.lxc("config", "set", "core.https_address", self.https_address)
        folder.mkdir(parents=True, exist_ok=True)
        crt, key = folder / "client.crt", folder / "client.key"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:secp384r1",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(crt),
                "-days",
                "2",
                "-subj",
                "/CN=homeport-test",
            ],
            check=True,
            capture_output=True,
        )
        if trusted:
            self.lxc("config", "trust", "add", str(crt))
        return HttpsAccess(f"https://{self.https_address}", self.root / "server.crt", crt, key)

    def log(self) -> str:
        """The tail of the daemon's log."""
        path = self.root / "lxd.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _require() -> str:
    lxd = shutil.which("lxd") or ("/usr/bin/lxd" if Path("/usr/bin/lxd").exists() else None)
    if lxd is None or shutil.which("lxc") is None:
        pytest.fail(f"lxd is not installed: {FIX_HINT}")
    if os.geteuid() != 0:
        pytest.fail("the LXD test daemon needs root")
    for image in ("busybox.tar.gz", "debian.tar.gz"):
        if not (IMAGES / image).is_file():
            pytest.fail(f"LXD test image {IMAGES / image} is missing: run scripts/build-lxd-images.sh ({FIX_HINT})")
    return lxd


def start_daemon(base: Path) -> LxdDaemon:
    """Start lxd in base/var, wait until ready, preseed it and import the test images."""
    lxd = _require()
    root = base / "var"
    root.mkdir(parents=True)
    env = {**os.environ, "LXD_DIR": str(root)}
    process = subprocess.Popen(
        [lxd, "--group", "root", "--logfile", str(root / "lxd.log")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(root / "lxd.stderr").open("wb"),
        start_new_session=True,
    )
    daemon = LxdDaemon(root=root, process=process, images={})
    ready = subprocess.run([lxd, "waitready", "--timeout", "90"], env=env, capture_output=True, text=True)
    if ready.returncode != 0:
        stop_daemon(daemon)
        pytest.fail(f"lxd did not get ready: {ready.stderr}\n{daemon.log()}")
    subprocess.run([lxd, "init", "--preseed"], env=env, input=PRESEED, text=True, capture_output=True, check=True)
    for alias, file in ((BUSYBOX, "busybox.tar.gz"), (DEBIAN, "debian.tar.gz")):
        daemon.lxc("image", "import", str(IMAGES / file), "--alias", alias)
        info = daemon.lxc("image", "info", alias).stdout
        daemon.images[alias] = next(
            line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Fingerprint:")
        )
    _import_vm_shape(daemon, base)
    return daemon


def _import_vm_shape(daemon: LxdDaemon, base: Path) -> None:
    """A split virtual-machine image: metadata.yaml and an empty qcow2 (v3 header, 1 MiB disk), never booted."""
    folder = base / "vm-shape"
    folder.mkdir()
    (folder / "metadata.yaml").write_text(
        'architecture: x86_64\ncreation_date: 1700000000\nproperties: {os: none, description: "homeport VM shape"}\n'
    )
    subprocess.run(["tar", "-C", str(folder), "-czf", str(folder / "meta.tar.gz"), "metadata.yaml"], check=True)
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, 0, 0, 16, 1 << 20, 0, 1, 3 * 65536, 65536, 1, 0, 0, 0, 0, 0, 4, 104
    )
    (folder / "rootfs.img").write_bytes(header + bytes(4 * 65536 - len(header)))
    daemon.lxc("image", "import", str(folder / "meta.tar.gz"), str(folder / "rootfs.img"), "--alias", VM_SHAPE)


def stop_daemon(daemon: LxdDaemon) -> None:
    """Delete the instances, `lxd shutdown`, wait for the process; its directory goes with the temp dir."""
    if daemon.process.poll() is None:
        with contextlib.suppress(Exception):
            daemon.wipe()
        subprocess.run(
            ["lxd", "shutdown", "--timeout", "60"],
            env={**os.environ, "LXD_DIR": str(daemon.root)},
            capture_output=True,
            timeout=90,
            check=False,
        )
        try:
            daemon.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait(timeout=10)
    # LXD leaves its tmpfs mounts (devlxd, shmounts) behind after shutdown; unmount them before removal.
    for mount in ("devlxd", "shmounts"):
        subprocess.run(["umount", "-R", str(daemon.root / mount)], capture_output=True, check=False)


@pytest.fixture(scope="session")
def lxd_daemon() -> Iterator[LxdDaemon]:
    """The session's LXD daemon (one per machine at a time: /tmp/homeport-lxd.lock)."""
    _require()
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = Path(tempfile.mkdtemp(prefix="hp-lxd-"))
        base.chmod(0o755)  # unprivileged containers' root (uid 100000) must traverse to their rootfs
        daemon = start_daemon(base)
        try:
            yield daemon
        finally:
            stop_daemon(daemon)
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def lxd(lxd_daemon: LxdDaemon) -> Iterator[LxdDaemon]:
    """The daemon, emptied of instances after each test."""
    lxd_daemon.wipe()
    yield lxd_daemon
    lxd_daemon.wipe()


@dataclass
class VethPair:
    """A veth pair: `host` keeps host_address on this machine; `inner` is handed to an instance."""

    host: str
    inner: str
    host_address: str
    guest_address: str
    prefix: int = 24


@contextlib.contextmanager
def veth_pair(index: int = 0) -> Iterator[VethPair]:
    """hp-lxd-h<i> (10.203.<i>.1/24, on the host) <-> hp-lxd-c<i> (for the instance, 10.203.<i>.2)."""
    pair = VethPair(
        host=f"hp-lxd-h{index}",
        inner=f"hp-lxd-c{index}",
        host_address=f"10.203.{index}.1",
        guest_address=f"10.203.{index}.2",
    )
    subprocess.run(["ip", "link", "del", pair.host], capture_output=True, check=False)
    subprocess.run(["ip", "link", "add", pair.host, "type", "veth", "peer", "name", pair.inner], check=True)
    subprocess.run(["ip", "addr", "add", f"{pair.host_address}/{pair.prefix}", "dev", pair.host], check=True)
    subprocess.run(["ip", "link", "set", pair.host, "up"], check=True)
    try:
        yield pair
    finally:
        subprocess.run(["ip", "link", "del", pair.host], capture_output=True, check=False)


def wait_for(predicate: object, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll a callable until it returns true."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
