"""A real fake PVE API server for tests: the `fakepve` package over HTTPS with its own CA, on 127.0.0.1.

`pve` (function scope) gives a started FakePve seeded like a small homelab: three nodes (pve1-3),
a cloud-image template (vmid 9000, `debian-12-cloud`, on pve1), and two guests nobody manages
(vmid 150 on pve2 running, 151 on pve3 stopped). Homeport logs in with an API token whose id and
secret are put in environment variables (see `PveBackend.provider_config`). Marker
`@pytest.mark.pve(time_scale=0.01)` makes tasks take (scaled) time; the default 0 finishes every
task before its request returns.

fakepve missing fails the test with what to run (never skips).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TOKEN_ID = "homeport@pve!ci"
TOKEN_ID_ENV = "HOMEPORT_TEST_PVE_TOKEN_ID"
TOKEN_SECRET_ENV = "HOMEPORT_TEST_PVE_TOKEN_SECRET"
HOST = "127.0.0.1"
NODES = ("pve1", "pve2", "pve3")
TEMPLATE_VMID = 9000
TEMPLATE_NAME = "debian-12-cloud"
FIX_HINT = "run `uv sync --all-extras` (fakepve[crypto] is in the dev dependency group)"


def _fakepve() -> Any:
    try:
        from fakepve.certs import make_cert
        from fakepve.server import FakePve, settle
    except ModuleNotFoundError as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"the fakepve test backend is missing ({exc}); {FIX_HINT}")
    return FakePve, make_cert, settle


class _Serving:
    """A FakePve served on its own event loop in a daemon thread."""

    def __init__(self, pve: Any, certfile: str, keyfile: str, settle: Any) -> None:
        self.pve = pve
        self._settle = settle
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fakepve", daemon=True)
        self.thread.start()
        self.call(pve.start(certfile, keyfile))

    def call(self, coro: Any, timeout: float = 60.0) -> Any:
        """Run a coroutine on the server's loop (hold_config_lock, backup, ...) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        """Let running tasks settle, stop serving and end the loop's thread."""
        try:
            self.call(self._settle())
            self.call(self.pve.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
            if not self.thread.is_alive():
                self.loop.close()


PVE_POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: proxmox}
spec:
  path: /infrastructure/proxmox
  provider: pve
  nodes: [pve1, pve2, pve3]
"""
PVE_POOL_WITH_DEFAULTS = PVE_POOL + "  properties: {storage_pool: local-lvm, network_bridge: vmbr0}\n"


@dataclass
class PveBackend:
    """A started fake PVE and what a homeport provider config needs to reach it."""

    pve: Any
    serving: _Serving
    url: str
    cafile: str
    token_secret: str
    root_password: str

    def lab_yaml(self, reconcile: str | None = None, *, nodes: bool = True) -> str:
        """homeport.yaml of a lab `home` with one provider `pve` on this server (reconcile: a flow mapping)."""
        node_line = "      nodes: [pve1, pve2, pve3]\n" if nodes else ""
        policy = f"  reconcile: {reconcile}\n" if reconcile else ""
        return (
            "apiVersion: homelab.ai/v1\nkind: Lab\nmetadata: {name: home}\nspec:\n  providers:\n    pve:\n"
            f'      type: proxmox\n      endpoint: "{self.url}"\n      ca_file: "{self.cafile}"\n{node_line}'
            f"      credentials: {{token_id_env: {TOKEN_ID_ENV}, token_secret_env: {TOKEN_SECRET_ENV}}}\n"
            f"      options: {{task_poll: 0.05, task_timeout: 30}}\n{policy}"
        )

    def provider_config(self, **options: Any) -> dict[str, Any]:
        """A homeport.yaml provider entry (as a dict) pointing at this server, token from the environment."""
        return {
            "type": "proxmox",
            "endpoint": self.url,
            "ca_file": self.cafile,
            "credentials": {"token_id_env": TOKEN_ID_ENV, "token_secret_env": TOKEN_SECRET_ENV},
            "nodes": list(NODES),
            "options": {"task_poll": 0.05, "task_timeout": 30, **options},
        }

    def guest(self, name: str) -> Any:
        """The fake guest called name (None when there is none)."""
        found = [vm for vm in self.pve.vms if vm.name == name]
        return found[0] if found else None

    def requests_since(self, start: int) -> list[tuple[str, str]]:
        """(method, path) of every request served after index start of pve.requests."""
        return [(m, p) for m, p, _body in self.pve.requests[start:]]


def seed(pve: Any) -> None:
    """The small homelab every test starts from."""
    for node in NODES:
        pve.add_node(node)
    pve.add_vm(
        TEMPLATE_VMID,
        TEMPLATE_NAME,
        node="pve1",
        template=True,
        config={
            "scsi0": f"local-lvm:base-{TEMPLATE_VMID}-disk-0,size=4G",
            "cores": 1,
            "memory": 1024,
            "ide2": "local-lvm:cloudinit,media=cdrom",
            "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0",
            "ostype": "l26",
            "agent": "1",
        },
    )
    pve.storages["local-lvm"].setdefault("volumes", {})[f"base-{TEMPLATE_VMID}-disk-0"] = {
        "content": "images",
        "format": "raw",
        "size": 4 * 1024**3,
        "vmid": TEMPLATE_VMID,
        "ctime": 0,
    }
    pve.add_vm(
        150,
        "plex",
        node="pve2",
        status="running",
        config={"cores": 4, "memory": 8192, "scsi0": "local-lvm:vm-150-disk-0,size=64G", "tags": "media"},
    )
    pve.add_vm(151, "scratch", node="pve3", config={"cores": 1, "memory": 512})


@pytest.fixture(scope="session")
def pve_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(certfile, keyfile) of a self-signed certificate for 127.0.0.1; the certfile is the CA to trust."""
    _FakePve, make_cert, _settle = _fakepve()
    try:
        certfile, keyfile, _ = make_cert(str(tmp_path_factory.mktemp("fakepve-pki")), hosts=(HOST,))
    except ModuleNotFoundError as exc:
        pytest.fail(f"fakepve cannot make its certificate without cryptography ({exc}); {FIX_HINT}")
    return certfile, keyfile


@pytest.fixture
def pve(
    request: pytest.FixtureRequest, pve_pki: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[PveBackend]:
    """A started, seeded fake PVE with an API token for homeport (id and secret in the environment)."""
    fake_pve, _make_cert, settle = _fakepve()
    marker = request.node.get_closest_marker("pve")
    time_scale = float(marker.kwargs.get("time_scale", 0)) if marker else 0.0
    root_password = secrets.token_urlsafe(16)
    server = fake_pve(user="root@pam", password=root_password, host=HOST, port=0)
    server.time_scale = time_scale
    token_secret = secrets.token_hex(16)
    server.apitokens[TOKEN_ID] = token_secret
    seed(server)
    serving = _Serving(server, *pve_pki, settle)
    monkeypatch.setenv(TOKEN_ID_ENV, TOKEN_ID)
    monkeypatch.setenv(TOKEN_SECRET_ENV, token_secret)
    try:
        yield PveBackend(
            pve=server,
            serving=serving,
            url=server.url,
            cafile=str(Path(pve_pki[0])),
            token_secret=token_secret,
            root_password=root_password,
        )
    finally:
        serving.stop()


def pytest_configure(config: pytest.Config) -> None:
    """Register the `pve` marker."""
    config.addinivalue_line("markers", "pve(time_scale=0): options for the pve fixture (fakepve)")
