"""apply() against fakepve: create (blank, clone), idempotence, converge, power, delete, rename, VMIDs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from reconciler.models.plan import FieldChange, Op
from reconciler.providers.base import RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.proxmox import ProxmoxProvider
from reconciler.providers.proxmox.apply import VMID_PREFIX
from tests.backends.pve import TEMPLATE_NAME, PveBackend
from tests.backends.ssh import SshHosts
from tests.providers.proxmox.conftest import make_provider
from tests.providers.proxmox.resources import change, resource


def _guests_named(pve: PveBackend, name: str) -> list[int]:
    return [vm.vmid for vm in pve.pve.vms if vm.name == name]


def test_create_blank_vm_with_cloud_init(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web", network={"ipv4": "192.168.1.50/24", "gateway": "192.168.1.1"})
    result = provider.apply(change(provider, res), res, None)
    vm = pve.guest("web")
    assert result.provider_id == str(vm.vmid) and result.node == "pve1"
    assert result.outputs["address"] == "192.168.1.50"
    assert vm.status == "running"
    assert vm.config["tags"] == "homeport;homeport-home"
    assert vm.config["ipconfig0"] == "ip=192.168.1.50/24,gw=192.168.1.1"
    assert vm.config["ciuser"] == "homeport"
    assert "homeport:disks=root@scsi0" in vm.config["description"]
    assert provider.ctx.state.get(VMID_PREFIX + "web") == vm.vmid


def test_create_twice_makes_one_guest(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web")
    first = provider.apply(change(provider, res), res, None)
    second = provider.apply(change(provider, res), res, None)
    assert _guests_named(pve, "web") == [int(first.provider_id or 0)]
    assert second.provider_id == first.provider_id
    assert "already existed" in second.message and "already matches" in second.message


def test_clone_from_template_then_converge(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource(
        "db",
        storage_gb=4,
        cpu=2,
        memory_gb=4,
        disks=[{"name": "data", "size": 20}],
        overrides={"clone": TEMPLATE_NAME},
    )
    start = len(pve.pve.requests)
    result = provider.apply(change(provider, res), res, None)
    vm = pve.guest("db")
    assert ("POST", "/api2/json/nodes/pve1/qemu/9000/clone") in pve.requests_since(start)
    assert vm.config["cores"] in (2, "2") and str(vm.config["memory"]) == "4096"
    assert vm.config["tags"] == "homeport;homeport-home"
    assert vm.config["scsi1"].startswith("local-lvm:")
    assert "created qemu" in result.message and vm.status == "running"


def test_ssh_key_goes_to_cloud_init_url_encoded(pve: PveBackend, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519.pub"
    key.write_text("ssh-ed25519 AAAAC3Nza homeport@test\n")
    prov = make_provider(pve, tmp_path, ssh_public_key_file=str(key))
    res = resource("web")
    prov.apply(change(prov, res), res, None)
    assert unquote(pve.guest("web").config["sshkeys"]).strip() == "ssh-ed25519 AAAAC3Nza homeport@test"


def test_update_converges_config_and_reboots_for_pending(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    vmid = str(pve.guest("web").vmid)
    bigger = resource("web", cpu=4, memory_gb=6, overrides={"tags": ["ai"]})
    result = provider.apply(change(provider, bigger, Op.update, provider_id=vmid), bigger, None)
    vm = pve.guest("web")
    assert str(vm.config["cores"]) == "4" and str(vm.config["memory"]) == "6144"
    assert vm.config["tags"] == "ai;homeport;homeport-home"
    assert vm.pending == {}
    assert "rebooted" in result.message
    after = provider.observe().owned("home")["web"].fields
    assert (after["cores"], after["memory_mb"]) == (4, 6144)


def test_grow_disk_calls_resize_and_shrink_is_refused(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web", storage_gb=8)
    provider.apply(change(provider, res), res, None)
    vmid = str(pve.guest("web").vmid)
    start = len(pve.pve.requests)
    grown = resource("web", storage_gb=12)
    provider.apply(change(provider, grown, Op.update, provider_id=vmid), grown, None)
    resize = [b for m, p, b in pve.pve.requests[start:] if m == "PUT" and p.endswith(f"/qemu/{vmid}/resize")]
    assert resize and b"disk=scsi0" in resize[0] and b"size=12G" in resize[0]
    small = resource("web", storage_gb=4)
    with pytest.raises(PermanentProviderError, match="PVE cannot shrink disks"):
        provider.apply(change(provider, small, Op.update, provider_id=vmid), small, None)


def test_stop_then_start(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    vmid = str(pve.guest("web").vmid)
    stopped = resource("web", overrides={"status": "stopped"})
    provider.apply(change(provider, stopped, Op.update, provider_id=vmid), stopped, None)
    assert pve.guest("web").status == "stopped"
    provider.apply(change(provider, res, Op.update, provider_id=vmid), res, None)
    assert pve.guest("web").status == "running"


def test_delete_stops_purges_and_forgets(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    vmid = str(pve.guest("web").vmid)
    result = provider.apply(change(provider, res, Op.delete, provider_id=vmid), None, None)
    assert pve.guest("web") is None and f"deleted qemu {vmid}" in result.message
    assert provider.ctx.state.get(VMID_PREFIX + "web") is None
    again = provider.apply(change(provider, res, Op.delete, provider_id=vmid), None, None)
    assert "already gone" in again.message


def test_delete_never_touches_an_unmanaged_guest(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("plex")
    with pytest.raises(PermanentProviderError, match="guest 150 is not managed by lab home"):
        provider.apply(change(provider, res, Op.delete, provider_id="150"), None, None)
    assert pve.guest("plex").status == "running"


def test_rename_keeps_the_vmid(provider: ProxmoxProvider, pve: PveBackend) -> None:
    old = resource("web")
    provider.apply(change(provider, old), old, None)
    vmid = pve.guest("web").vmid
    new = resource("frontend")
    result = provider.apply(change(provider, new, Op.rename, provider_id=str(vmid), previous_name="web"), new, None)
    assert pve.guest("frontend").vmid == vmid and pve.guest("web") is None
    assert "resource frontend" in pve.guest("frontend").config["description"]
    assert "renamed web to frontend" in result.message
    assert provider.ctx.state.get(VMID_PREFIX + "frontend") == vmid


def test_vmid_taken_by_someone_else_is_reallocated(provider: ProxmoxProvider, pve: PveBackend) -> None:
    provider.ctx.state.put(VMID_PREFIX + "web", 150)  # recorded earlier, since taken by plex
    res = resource("web")
    result = provider.apply(change(provider, res), res, None)
    assert result.provider_id != "150" and pve.guest("plex").vmid == 150
    assert provider.ctx.state.get(VMID_PREFIX + "web") == int(result.provider_id or 0)


def test_container_needs_an_os_template(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("dns", resource_type="container", cpu=1, memory_gb=0.5)
    with pytest.raises(PermanentProviderError, match=r"needs an OS template; set overrides\.proxmox\.ostemplate"):
        provider.apply(change(provider, res), res, None)
    pve.pve.store_file("local", "debian-12.tar.zst", 1024, content="vztmpl")
    ok = resource(
        "dns",
        resource_type="container",
        cpu=1,
        memory_gb=0.5,
        network={"ipv4": "10.0.0.5/24"},
        overrides={"ostemplate": "local:vztmpl/debian-12.tar.zst"},
    )
    result = provider.apply(change(provider, ok), ok, None)
    assert result.outputs["kind"] == "lxc" and result.outputs["address"] == "10.0.0.5"
    observed = provider.observe().owned("home")["dns"]
    assert observed.kind == "lxc" and observed.fields["nics"][0]["ip"] == "10.0.0.5/24"


def test_dhcp_guest_address_comes_from_the_guest_agent(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web", network={"ipv4": "dhcp"}, overrides={"configure": True})
    first = provider.apply(change(provider, res), res, None)
    assert "address" not in first.outputs  # no agent answering yet
    vm = pve.guest("web")
    vm.agent = {}  # the guest agent starts answering
    again = provider.apply(change(provider, res, Op.update, provider_id=str(vm.vmid)), res, None)
    assert again.outputs["address"] == "192.0.2.10"


def test_template_id_property_clones_and_a_vm_template_never_applies_to_containers(
    provider: ProxmoxProvider, pve: PveBackend
) -> None:
    vm = resource("db", storage_gb=4, properties={"template_id": 9000})
    start = len(pve.pve.requests)
    provider.apply(change(provider, vm), vm, None)
    assert ("POST", "/api2/json/nodes/pve1/qemu/9000/clone") in pve.requests_since(start)
    pve.pve.store_file("local", "debian-12.tar.zst", 1024, content="vztmpl")
    ct = resource(
        "dns",
        resource_type="container",
        cpu=1,
        memory_gb=0.5,
        properties={"clone_template": TEMPLATE_NAME},
        overrides={"ostemplate": "local:vztmpl/debian-12.tar.zst"},
    )
    result = provider.apply(change(provider, ct), ct, None)
    assert result.outputs["kind"] == "lxc" and "created lxc" in result.message


@pytest.mark.slow
def test_configure_runs_the_playbook_and_a_failure_leaves_it_to_the_next_plan(
    pve: PveBackend, ssh_hosts: SshHosts, tmp_path: Path
) -> None:
    prov = make_provider(pve, tmp_path, ci_user=ssh_hosts.user)
    prov.ctx.config.credentials.ssh_key_file = str(ssh_hosts.private_key)
    markers = tmp_path / "markers"
    markers.mkdir()
    playbook = (Path(__file__).parents[1] / "ansible" / "playbooks" / "site.yml").read_text()
    arts = RenderedArtifacts(chart="test", files={"playbook.yml": playbook})
    props = {"ssh_port": ssh_hosts.hosts[1].port, "ansible_python_interpreter": ssh_hosts.python}
    ok = resource("web", network={"ipv4": "127.0.0.12/8"}, properties=props)
    ok = ok.model_copy(update={"configuration_vars": {"out_dir": str(markers)}})
    result = prov.apply(change(prov, ok), ok, arts)
    assert [(h.host, h.changed, h.failed, h.unreachable) for h in result.hosts] == [("web", 1, 0, 0)]
    assert (markers / "web.txt").is_file() and "configured (1 changed)" in result.message
    assert prov.observe().owned("home")["web"].fields["configured"] == prov.desired_fields(ok)["configured"]

    gone = resource("db", network={"ipv4": "127.0.0.14/8"}, properties=props)  # nothing listens there
    gone = gone.model_copy(update={"configuration_vars": {"out_dir": str(markers)}})
    with pytest.raises(TransientProviderError, match=r"db unreachable at 127\.0\.0\.14 \(db: ok=0 .*unreachable=1\)"):
        prov.apply(change(prov, gone), gone, arts)
    assert "configured" not in prov.observe().owned("home")["db"].fields


def test_a_new_node_pin_is_not_a_silent_migration(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    vmid = pve.guest("web").vmid
    moved = resource("web", node="pve2")
    ch = change(provider, moved, Op.update, provider_id=str(vmid))
    ch.fields = [FieldChange(path="node", old="pve1", new="pve2")]
    with pytest.raises(
        PermanentProviderError, match=rf"does not migrate guests: migrate it \(qm migrate {vmid} pve2\)"
    ):
        provider.apply(ch, moved, None)
    assert pve.guest("web").node == "pve1"
