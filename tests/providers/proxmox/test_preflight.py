"""Preflight against fakepve: each problem found before applying, with its remedy."""

from __future__ import annotations

from pathlib import Path

from reconciler.models.plan import Op
from reconciler.providers.proxmox import ProxmoxProvider
from reconciler.providers.proxmox.preflight import held_privileges
from tests.backends.pve import TEMPLATE_NAME, TOKEN_ID, PveBackend
from tests.providers.proxmox.conftest import make_provider
from tests.providers.proxmox.resources import change, resource

VM_ADMIN = (
    "VM.Allocate",
    "VM.PowerMgmt",
    "VM.Audit",
    "VM.Clone",
    "VM.Config.CPU",
    "VM.Config.Memory",
    "VM.Config.Disk",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Config.Cloudinit",
    "VM.Config.HWType",
)


def test_a_fully_privileged_token_and_a_sound_plan_pass(provider: ProxmoxProvider) -> None:
    res = resource("web", network={"ipv4": "10.0.0.5/24"})
    assert provider.preflight([change(provider, res)]) == []


def test_missing_privileges_are_named_with_the_grant_to_make(pve: PveBackend, tmp_path: Path) -> None:
    pve.pve.grant(TOKEN_ID, "/vms", "VM.Audit", "VM.Config.CPU")
    provider = make_provider(pve, tmp_path)
    res = resource("web")
    [storage, vms, visible] = provider.preflight([change(provider, res)])
    assert storage == (
        "web: homeport@pve!ci lacks Datastore.AllocateSpace on /storage/local-lvm; grant it: "
        "pveum acl modify /storage/local-lvm -token 'homeport@pve!ci' -role PVEDatastoreUser"
    )
    assert vms.startswith("web: homeport@pve!ci lacks VM.Allocate, VM.Config.Cloudinit, VM.Config.Disk")
    assert vms.endswith(
        "on /vms for create; grant them, e.g. pveum acl modify /vms -token 'homeport@pve!ci' -role PVEVMAdmin"
    )
    assert visible == (
        "web: homeport@pve!ci sees no storage on node pve1; grant it Datastore.Audit on "
        "/storage/local-lvm (or check the node name)"
    )


def test_enough_privileges_on_the_right_paths_pass(pve: PveBackend, tmp_path: Path) -> None:
    pve.pve.grant(TOKEN_ID, "/vms", *VM_ADMIN)
    pve.pve.grant(TOKEN_ID, "/storage/local-lvm", "Datastore.AllocateSpace")
    provider = make_provider(pve, tmp_path)
    res = resource("web")
    assert provider.preflight([change(provider, res)]) == []


def test_raw_pci_passthrough_with_a_token_asks_for_a_resource_mapping(provider: ProxmoxProvider) -> None:
    raw = resource("ollama", gpu=True, overrides={"gpu": "0000:01:00.0"})
    mapped = resource("comfy", gpu=True, overrides={"gpu": "rtx3090"})
    [problem] = provider.preflight([change(provider, raw), change(provider, mapped)])
    assert problem.startswith("ollama: passing through the raw PCI device 0000:01:00.0 needs root@pam")
    assert "/cluster/mapping/pci" in problem and "overrides.proxmox.gpu" in problem


def test_storage_without_the_content_type_or_missing_on_the_node(provider: ProxmoxProvider) -> None:
    wrong = resource("web", overrides={"storage": "local"})
    missing = resource("db", overrides={"storage": "tank"})
    problems = provider.preflight([change(provider, wrong), change(provider, missing)])
    assert problems == [
        "web: storage local does not hold images (it holds iso,vztmpl,backup); pick another storage or add "
        "images to its content",
        "db: storage tank is not available on node pve1; use one of local, local-lvm or enable it on that node",
    ]


def test_clone_source_missing_or_on_another_node_without_shared_storage(provider: ProxmoxProvider) -> None:
    elsewhere = resource("db", node="pve2", storage_gb=4, overrides={"clone": TEMPLATE_NAME})
    absent = resource("ci", overrides={"clone": "ubuntu-24-cloud"})
    same_node = resource("web", storage_gb=4, overrides={"clone": TEMPLATE_NAME})
    problems = provider.preflight([change(provider, r) for r in (elsewhere, absent, same_node)])
    assert problems == [
        "db: template debian-12-cloud is on pve1 but the guest goes to pve2 on non-shared storage local-lvm; "
        "use shared storage, a copy of the template on pve2, or place the guest on pve1",
        "ci: clone source ubuntu-24-cloud is not a template on this cluster; create it (qm template <vmid>) "
        "or fix overrides.proxmox.clone",
    ]


def test_noop_changes_need_no_api_call(provider: ProxmoxProvider, pve: PveBackend) -> None:
    start = len(pve.pve.requests)
    assert provider.preflight([change(provider, resource("web"), Op.noop)]) == []
    assert pve.requests_since(start) == []


def test_privileges_on_a_parent_path_count() -> None:
    held = held_privileges({"/vms": {"VM.Allocate": 1}, "/storage": {"Datastore.Audit": 1}}, "/vms/100")
    assert held == {"VM.Allocate"}
