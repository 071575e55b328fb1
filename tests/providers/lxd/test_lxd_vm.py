"""The virtual-machine path. LXD VMs cannot run on this machine (no vhost_vsock), so the request a VM
resource makes is checked for its shape and sent to the real daemon, whose refusal must come back as a
permanent error that says why, with nothing left behind. Restarts a VM update needs are checked in the plan
preview (LXD applies container limits live, VM limits at the next boot)."""

from __future__ import annotations

import pytest

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import FieldChange, Op
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.lxd import LxdProvider
from reconciler.providers.lxd.fields import instance_request
from tests.backends.lxd import VM_SHAPE, LxdDaemon
from tests.providers.lxd.resources import change, render, resource


def vm_resource() -> EffectiveResource:
    """A compute resource (a VM by default) with a static address and a GPU-less 2 CPU / 1 GiB / 4 GiB size."""
    return resource(
        "vm1",
        image=VM_SHAPE,
        resource_type="compute",
        network={"ipv4": "10.203.5.2/24", "gateway": "10.203.5.1"},
        properties={"network": "lxdbr0"},
        cpu=2,
        memory_gb=1,
        storage_gb=4,
    )


def test_vm_request_shape() -> None:
    res = vm_resource()
    request = instance_request(render(res), "vm1")
    assert request["type"] == "virtual-machine"
    assert request["source"] == {"type": "image", "alias": VM_SHAPE}
    config = request["config"]
    assert (config["limits.cpu"], config["limits.memory"]) == ("2", "1024MiB")
    assert "security.nesting" not in config and "nvidia.runtime" not in config
    assert "enp5s0:" in config["cloud-init.network-config"]  # the NIC name inside an LXD VM
    assert request["devices"]["root"] == {"type": "disk", "path": "/", "pool": "default", "size": "4GiB"}
    assert request["devices"]["eth0"] == {"type": "nic", "name": "eth0", "network": "lxdbr0"}


def test_the_daemon_refuses_the_vm_and_the_refusal_is_permanent(provider: LxdProvider, lxd: LxdDaemon) -> None:
    res = vm_resource()
    res = res.model_copy(update={"properties": {**res.properties, "network": None}})
    with pytest.raises(PermanentProviderError) as refused:
        provider.apply(change(provider, res), res, render(res))
    text = str(refused.value)
    assert 'Instance type "virtual-machine" is not supported on this server' in text, text
    assert "vhost_vsock" in text and "create instance vm1" in text
    assert lxd.names() == []


def test_vm_limits_need_a_restart_and_the_preview_says_so(provider: LxdProvider) -> None:
    res = vm_resource()
    update = change(provider, res, Op.update, fields=[FieldChange(path="memory_mb", old=512, new=1024)])
    preview = provider.preview(update, res, render(res))
    assert preview is not None and preview["restart"] is True and preview["restart_fields"] == ["memory_mb"]
    assert "homeport restarts it" in preview["lines"][0]
    container = resource("c1")
    live = change(provider, container, Op.update, fields=[FieldChange(path="memory_mb", old=512, new=1024)])
    assert provider.preview(live, container, render(container)) == {
        "lines": ["applied live on the running container, no restart: memory_mb"],
        "restart": False,
        "restart_fields": [],
    }
