"""VMware provider: round trips and time of observe cycles with 200 managed VMs on vcsim.

Starts vcsim (tests/backends/vcsim.py: built from Debian's govmomi, own CA, username/password)
with 100 VMs in each of its two pools, marks all 200 as homeport-managed (custom attributes and
notes line, through a separate session), then measures with the real provider:
  1. a cold cycle: login, container view, one retrieval,
  2. no-op cycles: the steady state the reconciler pays every interval (target: 1 round trip),
  3. a cycle after one VM changed out of band (its device list is read again: 2 round trips),
  4. for contrast, reading the same fields VM by VM through pyVmomi's property accessors.
Round trips are SOAP calls counted at the pyVmomi stub. Run: .venv/bin/python bench/vmware_observe.py [vms]
"""

from __future__ import annotations

import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyVim.connect import Disconnect, SmartConnect  # noqa: E402
from pyVmomi import vim  # noqa: E402

from reconciler.models.lab import ProviderConfig  # noqa: E402
from reconciler.providers.base import ProviderContext  # noqa: E402
from reconciler.providers.vmware import VmwareProvider  # noqa: E402
from reconciler.providers.vmware.connection import CallCounter, _count_calls  # noqa: E402
from reconciler.providers.vmware.fields import ownership_line  # noqa: E402
from reconciler.store.database import open_database  # noqa: E402
from reconciler.store.provider_state import DbProviderState  # noqa: E402
from tests.backends.vcsim import VcsimServer, run_vcsim  # noqa: E402

LAB = "bench"
PASSWORD_ENV = "HOMEPORT_BENCH_VSPHERE_PASSWORD"


def session(server: VcsimServer) -> Any:
    """A separate pyVmomi session (not the provider's)."""
    context = ssl.create_default_context(cafile=str(server.ca_file))
    return SmartConnect(
        host=server.host, port=server.port, user=server.username, pwd=server.password, sslContext=context
    )


def mark_all_managed(server: VcsimServer) -> int:
    """Give every VM homeport's custom attributes and notes line for lab `bench`; return the count."""
    si = session(server)
    try:
        manager = si.content.customFieldsManager
        keys = {}
        for name in ("homeport.managed-by", "homeport.lab", "homeport.resource"):
            keys[name] = manager.AddCustomFieldDef(name=name, moType=vim.VirtualMachine).key
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        vms = list(view.view)
        for index, vm in enumerate(vms):
            resource = f"vm-{index:03d}"
            manager.SetField(entity=vm, key=keys["homeport.managed-by"], value="homeport")
            manager.SetField(entity=vm, key=keys["homeport.lab"], value=LAB)
            manager.SetField(entity=vm, key=keys["homeport.resource"], value=resource)
            vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(annotation=ownership_line(LAB, resource)))
        view.DestroyView()
        return len(vms)
    finally:
        Disconnect(si)


def change_one(server: VcsimServer) -> None:
    """Change one VM's CPU count out of band, through a separate session."""
    si = session(server)
    try:
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        vm = view.view[0]
        task = vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=2))
        while task.info.state not in ("success", "error"):
            time.sleep(0.05)
        view.DestroyView()
    finally:
        Disconnect(si)


def make_provider(server: VcsimServer, work: Path) -> VmwareProvider:
    """The real provider with homeport's SQLite store."""
    os.environ[PASSWORD_ENV] = server.password
    config = ProviderConfig.model_validate(
        {
            "type": "vmware",
            "endpoint": server.endpoint,
            "ca_file": str(server.ca_file),
            "credentials": {"password_env": PASSWORD_ENV, "username": server.username},
        }
    )
    db = open_database(f"sqlite:///{work / 'homeport.db'}")
    ctx = ProviderContext(
        lab=LAB, name="vsphere", config=config, state=DbProviderState(db, LAB, "vsphere"), work_dir=work
    )
    return VmwareProvider(ctx)


def per_vm_reads(server: VcsimServer) -> tuple[int, float]:
    """Round trips and seconds to read the same VM fields one property at a time (the naive way)."""
    si = session(server)
    counter = CallCounter()
    _count_calls(si._stub, counter)
    try:
        started = time.perf_counter()
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        for vm in view.view:
            _ = (
                vm.name,
                vm.config.hardware.numCPU,
                vm.config.hardware.memoryMB,
                vm.config.hardware.device,
                vm.config.annotation,
                vm.runtime.powerState,
                vm.runtime.host,
                vm.customValue,
            )
        view.DestroyView()
        return counter.calls, time.perf_counter() - started
    finally:
        Disconnect(si)


def main() -> None:
    """Run the measurements and print the figures."""
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory(prefix="homeport-bench-vmware-") as tmp:
        work = Path(tmp)
        with run_vcsim(work / "vcsim", vms_per_pool=total // 2) as server:
            marked = mark_all_managed(server)
            provider = make_provider(server, work)
            try:
                started = time.perf_counter()
                cold = provider.observe()
                cold_s = time.perf_counter() - started
                cold_calls = provider.connection.counter.calls  # counted from after the login
                times, cpu, calls = [], [], []
                for _ in range(10):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    inventory = provider.observe()
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)
                    calls.append(inventory.api_calls)
                owned = len(inventory.owned(LAB))
                change_one(server)
                started = time.perf_counter()
                changed = provider.observe()
                changed_s = time.perf_counter() - started
            finally:
                provider.close()
            naive_calls, naive_s = per_vm_reads(server)
    print(f"vmware observe on vcsim: {marked} VMs marked managed, {owned} seen as owned, {len(inventory.nodes)} hosts")
    print(
        f"  cold cycle (login, then content + view + retrieval): {cold_s * 1000:.0f} ms; after the login "
        f"{cold_calls} round trips, {cold.api_calls} of them in observe"
    )
    print(
        f"  no-op cycle: {statistics.median(calls):.0f} round trip(s), median {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {len(times)} cycles; "
        f"homeport's own CPU time median {statistics.median(cpu) * 1000:.0f} ms (the rest is vcsim and the load)"
    )
    print(
        f"  cycle after one VM was reconfigured out of band: {changed.api_calls} round trips, {changed_s * 1000:.0f} ms"
    )
    print(f"  contrast, per-VM property reads of the same fields: {naive_calls} round trips, {naive_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
