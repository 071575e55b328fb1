"""Proxmox provider: API calls and time of observe cycles with 200 managed guests on 3 nodes (fakepve).

Starts fakepve over HTTPS (tests/backends/pve.py: own certificate, API token), adds 200 QEMU guests
spread over pve1-3 carrying homeport's ownership tags and disk marker, then measures with the real
provider (its standard-library HTTPS client over TLS, homeport's SQLite provider state):
  1. a cold cycle: listing + one config read per owned guest + the GPU (PCI, mapping) cache fill,
  2. no-op cycles: what the reconciler pays every interval (target: 1 call),
  3. a cycle after one guest was resized out of band (target: 2 calls: listing + its config).
Run: .venv/bin/python bench/proxmox_observe.py [guests] [repeats]
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakepve.certs import make_cert  # noqa: E402
from fakepve.server import FakePve, settle  # noqa: E402

from reconciler.models.lab import ProviderConfig  # noqa: E402
from reconciler.providers.base import ProviderContext  # noqa: E402
from reconciler.providers.proxmox import ProxmoxProvider  # noqa: E402
from reconciler.providers.proxmox.fields import description_for  # noqa: E402
from reconciler.store.database import open_database  # noqa: E402
from reconciler.store.provider_state import DbProviderState  # noqa: E402
from tests.backends.pve import HOST, NODES, TOKEN_ID, TOKEN_ID_ENV, TOKEN_SECRET_ENV, _Serving, seed  # noqa: E402

LAB = "bench"


def add_guests(pve: FakePve, count: int) -> None:
    """count owned, running guests spread round-robin over the nodes."""
    for i in range(count):
        vmid = 1000 + i
        pve.add_vm(
            vmid,
            f"guest-{i:03d}",
            node=NODES[i % len(NODES)],
            status="running",
            config={
                "cores": 2,
                "memory": 2048,
                "tags": f"homeport;homeport-{LAB}",
                "onboot": 1,
                "scsi0": f"local-lvm:vm-{vmid}-disk-0,size=16G",
                "net0": "virtio=BC:24:11:00:10:00,bridge=vmbr0",
                "description": description_for(LAB, f"guest-{i:03d}", {"root": "scsi0"}),
            },
        )


def timed(provider: ProxmoxProvider) -> tuple[int, float, int]:
    """(API calls, seconds, owned guests) of one observe cycle."""
    start = time.perf_counter()
    inv = provider.observe()
    return inv.api_calls, time.perf_counter() - start, len(inv.owned(LAB))


def main() -> None:
    """Run the benchmark and print its figures."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.TemporaryDirectory(prefix="homeport-bench-pve-") as tmp:
        work = Path(tmp)
        certfile, keyfile, _ = make_cert(str(work), hosts=(HOST,))
        pve = FakePve(user="root@pam", password=secrets.token_urlsafe(12), host=HOST, port=0)
        pve.time_scale = 0
        token_secret = secrets.token_hex(16)
        pve.apitokens[TOKEN_ID] = token_secret
        seed(pve)
        add_guests(pve, count)
        serving = _Serving(pve, certfile, keyfile, settle)
        os.environ[TOKEN_ID_ENV] = TOKEN_ID
        os.environ[TOKEN_SECRET_ENV] = token_secret
        try:
            config = ProviderConfig.model_validate(
                {
                    "type": "proxmox",
                    "endpoint": pve.url,
                    "ca_file": certfile,
                    "credentials": {"token_id_env": TOKEN_ID_ENV, "token_secret_env": TOKEN_SECRET_ENV},
                }
            )
            db = open_database(f"sqlite:///{work / 'homeport.db'}")
            ctx = ProviderContext(
                lab=LAB, name="pve", config=config, state=DbProviderState(db, LAB, "pve"), work_dir=work
            )
            provider = ProxmoxProvider(ctx)
            guests = count + 3  # plus the seed's template and two unmanaged guests
            print(f"fakepve {pve.version} at {pve.url}: {len(NODES)} nodes, {guests} guests ({count} managed)")

            calls, secs, owned = timed(provider)
            print(f"cold cycle:     {calls:4d} API calls  {secs * 1000:8.1f} ms  ({owned} owned guests read)")
            samples = [timed(provider) for _ in range(repeats)]
            times = [s[1] for s in samples]
            print(
                f"no-op cycle:    {samples[0][0]:4d} API calls  {statistics.median(times) * 1000:8.1f} ms median, "
                f"{min(times) * 1000:.1f}-{max(times) * 1000:.1f} ms over {repeats} cycles"
            )
            server_start = len(pve.requests)
            provider.observe()
            print(f"                server saw {len(pve.requests) - server_start} request(s) in a no-op cycle")
            pve.vm(1007).config["memory"] = 4096  # out of band
            calls, secs, _ = timed(provider)
            print(f"one guest moved:{calls:4d} API calls  {secs * 1000:8.1f} ms")
            calls, secs, _ = timed(provider)
            print(f"steady again:   {calls:4d} API calls  {secs * 1000:8.1f} ms")
            provider.close()
        finally:
            serving.stop()


if __name__ == "__main__":
    main()
