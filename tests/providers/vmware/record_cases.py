"""Record vSphere property-collector output from vcsim into cases/ (run by hand, review the diff).

    .venv/bin/python -m tests.providers.vmware.record_cases

Shapes a small vcsim inventory (a managed VM with two disks on a standard network, a VM whose
attributes were emptied so only its notes line marks it, a template, a suspended VM, a VM on a
distributed port group), then stores the two retrievals observe makes, as pyVmomi serialises
them, and the inventory the current code parses from them as the expected result.
"""

from __future__ import annotations

import json
import ssl
import tempfile
from pathlib import Path
from typing import Any

from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import SoapAdapter, vim, vmodl

from reconciler.providers.vmware.connection import Connection
from reconciler.providers.vmware.observe import device_spec, filter_spec, inventory_view
from tests.backends.vcsim import run_vcsim
from tests.providers.vmware.cases_io import CASES, expected_inventory, load_case
from tests.providers.vmware.conftest import make_provider
from tests.providers.vmware.resources import change, one_vm, resource

VERSION = "vim.version.version11"


def shape(si: Any) -> None:
    """Out-of-band touches that give the parser something to chew on."""
    template = one_vm(si, "DC0_H0_VM1")
    WaitForTask(template.PowerOffVM_Task())
    template.MarkAsTemplate()
    WaitForTask(one_vm(si, "DC0_C0_RP0_VM1").SuspendVM_Task())
    half = one_vm(si, "half")
    manager = si.content.customFieldsManager
    for field in manager.field:
        manager.SetField(entity=half, key=field.key, value="")


def record(directory: Path) -> None:
    """Run vcsim, shape it, and write cases/vcsim-inventory.{retrieve,devices}.xml and .expected.json."""
    import pytest

    monkeypatch = pytest.MonkeyPatch()
    with run_vcsim(directory / "vcsim", vms_per_pool=2, hosts_per_cluster=2) as server:
        provider = make_provider(server, directory, monkeypatch)
        for name, extra in (("web", {"disks": [{"name": "data", "size": 4}]}), ("half", {})):
            res = resource(name, cpu=1, memory_gb=1, **extra)
            provider.apply(change(provider, res), res, None)
        provider.close()
        context = ssl.create_default_context(cafile=str(server.ca_file))
        si = SmartConnect(
            host=server.host, port=server.port, user=server.username, pwd=server.password, sslContext=context
        )
        try:
            shape(si)
            conn = Connection.__new__(Connection)
            conn.content = si.content
            conn.inventory_view = None
            collector = si.content.propertyCollector
            options = vmodl.query.PropertyCollector.RetrieveOptions()
            cheap = collector.RetrievePropertiesEx([filter_spec(conn, inventory_view(conn))], options)
            vms = [o.obj for o in cheap.objects if isinstance(o.obj, vim.VirtualMachine)]
            devices = collector.RetrievePropertiesEx([device_spec(vms)], options)
        finally:
            Disconnect(si)
    CASES.mkdir(exist_ok=True)
    (CASES / "vcsim-inventory.retrieve.xml").write_bytes(SoapAdapter.Serialize(cheap, version=VERSION) + b"\n")
    (CASES / "vcsim-inventory.devices.xml").write_bytes(SoapAdapter.Serialize(devices, version=VERSION) + b"\n")
    expected = expected_inventory(*load_case("vcsim-inventory"))
    (CASES / "vcsim-inventory.expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="homeport-record-") as tmp:
        record(Path(tmp))
    print(f"recorded into {CASES}; review with git diff")
