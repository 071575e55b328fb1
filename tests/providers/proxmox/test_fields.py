"""Pure field mapping: raw PVE answers -> fields (cases/*.json), desired fields, config parameters."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.plan.diff import diff_fields
from reconciler.providers.proxmox import facts
from reconciler.providers.proxmox import fields as f
from tests.providers.proxmox.resources import resource

CASES = Path(__file__).parent / "cases"


def _case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES / name).read_text())
    return data


@pytest.mark.parametrize("name", sorted(p.name for p in CASES.glob("config_*.json")))
def test_config_to_fields(name: str) -> None:
    case = _case(name)
    assert facts.fields_from_config(case["kind"], case["config"], case["status"]) == case["fields"]


def test_listing_to_cheap_fields() -> None:
    case = _case("listing_owned.json")
    assert facts.cheap_fields(case["item"]) == case["fields"]


def test_desired_fields_vm_with_static_ip_gpu_and_data_disk() -> None:
    res = resource(
        "ollama",
        cpu=4,
        memory_gb=8,
        storage_gb="100G",
        gpu=True,
        disks=[{"name": "models", "size": "1.5T"}],
        network={"ipv4": "192.168.1.50/24", "gateway": "192.168.1.1", "vlan": 30},
        overrides={"cpu_type": "host", "gpu": "rtx3090", "tags": ["ai"]},
    )
    got = f.desired_fields(res)
    assert re.fullmatch(r"[0-9a-f]{16}", got.pop("configured"))
    assert got == {
        "kind": "qemu",
        "cores": 4,
        "memory_mb": 8192,
        "disks": [
            {"name": "root", "size_gb": 100, "storage": "local-lvm"},
            {"name": "models", "size_gb": 1536, "storage": "local-lvm"},
        ],
        "nics": [{"name": "net0", "bridge": "vmbr0", "vlan": 30}],
        "tags": ["ai", "homeport", "homeport-home"],
        "status": "running",
        "onboot": True,
        "cpu_type": "host",
        "ipconfig0": "ip=192.168.1.50/24,gw=192.168.1.1",
        "gpu_count": 1,
        "gpu": "rtx3090",
    }


def test_desired_fields_container_puts_the_address_on_the_nic() -> None:
    res = resource("dns", resource_type="container", cpu=1, memory_gb=0.5, network={"ipv4": "10.0.0.5/24"})
    got = f.desired_fields(res)
    assert got["kind"] == "lxc"
    assert got["nics"] == [{"name": "net0", "bridge": "vmbr0", "ip": "10.0.0.5/24"}]
    assert "ipconfig0" not in got
    assert got["memory_mb"] == 512


def test_desired_and_observed_speak_the_same_vocabulary() -> None:
    """A guest configured the way desired_fields asks diffs to nothing."""
    case = _case("config_qemu_clone.json")
    res = resource(
        "db",
        cpu=2,
        memory_gb=4,
        storage_gb=32,
        gpu=True,
        disks=[{"name": "data", "size": "512M", "storage": "tank"}],
        network={"ipv4": "192.168.1.50/24", "gateway": "192.168.1.1", "vlan": 20},
        overrides={"cpu_type": "host", "gpu": "rtx3090", "configure": False},
    )
    observed = facts.fields_from_config("qemu", case["config"], "running")
    assert diff_fields(f.desired_fields(res), observed, None, f.DIFF_RULES) == []


def test_tags_pve_refuses_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="tags PVE refuses: -bad"):
        f.desired_fields(resource("web", overrides={"tags": ["-bad"]}))


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["homeport", "homeport-home"], (True, "home")),
        (["homeport"], (True, None)),
        (["homeport-home"], (False, None)),
        (["media"], (False, None)),
    ],
)
def test_ownership(tags: list[str], expected: tuple[bool, str | None]) -> None:
    assert f.ownership(tags) == expected


def test_config_params_only_what_differs_and_keeps_the_mac() -> None:
    raw = {"net0": "virtio=BC:24:11:35:0D:C6,bridge=vmbr0"}
    current = facts.fields_from_config("qemu", {**raw, "cores": 2, "memory": "2048", "tags": "homeport"}, "running")
    desired = {
        "cores": 4,
        "memory_mb": 2048,
        "tags": ["homeport", "homeport-home"],
        "nics": [{"name": "net0", "bridge": "vmbr1"}],
    }
    assert f.config_params("qemu", desired, current, raw) == {
        "cores": 4,
        "tags": "homeport;homeport-home",
        "net0": "virtio=BC:24:11:35:0D:C6,bridge=vmbr1",
    }


def test_disk_slots_keep_taken_slots_and_fill_gaps() -> None:
    disks = [{"name": "root"}, {"name": "data"}, {"name": "logs"}]
    assert f.disk_slots_for("qemu", disks, {"root": "scsi0", "logs": "scsi1"}) == {
        "root": "scsi0",
        "logs": "scsi1",
        "data": "scsi2",
    }
    assert f.disk_slots_for("lxc", disks, {}) == {"root": "rootfs", "data": "mp0", "logs": "mp1"}


def test_values_pve_wants() -> None:
    assert f.hostpci_value("rtx3090") == "mapping=rtx3090,pcie=1"
    assert f.hostpci_value("0000:01:00.0") == "0000:01:00.0,pcie=1"
    assert f.sshkeys_value("ssh-ed25519 AAAA me@x") == "ssh-ed25519%20AAAA%20me%40x%0A"
    assert f.size_gb_text("512M") == 0.5
    assert facts.parse_disk_marker(f.description_for("home", "db", {"root": "scsi0", "data": "scsi1"})) == {
        "scsi0": "root",
        "scsi1": "data",
    }


def test_configuration_stamp_only_for_reachable_guests_and_follows_the_playbooks() -> None:
    static = resource("web", network={"ipv4": "10.0.0.5/24"})
    assert f.configuration_stamp(resource("web")) is None
    assert f.configuration_stamp(resource("web", network={"ipv4": "dhcp"}, overrides={"configure": True}))
    assert (
        f.configuration_stamp(resource("web", network={"ipv4": "10.0.0.5/24"}, overrides={"configure": False})) is None
    )
    other = static.model_copy(update={"configuration_vars": {"motd": "hi"}})
    assert f.configuration_stamp(static) != f.configuration_stamp(other)


@pytest.mark.parametrize(
    ("kind", "status", "restarts"),
    [
        ("qemu", "running", ["cores", "memory_mb", "cpu_type", "gpu", "gpu_count", "ipconfig0"]),
        ("qemu", "stopped", []),  # a stopped VM takes its config at its next start: nothing is rebooted
        ("qemu", None, []),  # not created yet
        ("lxc", "running", []),  # containers take cores, memory, NICs and mount points live
    ],
)
def test_restart_rules_per_guest_kind_and_state(kind: str, status: str | None, restarts: list[str]) -> None:
    rules = f.rules_for(kind, status)
    assert rules.restart_fields == restarts
    assert rules.model_dump(exclude={"restart_fields"}) == f.DIFF_RULES.model_dump(exclude={"restart_fields"})


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, {}),
        ({"overrides": {"clone": "debian-12-cloud"}}, {"clone_template": "debian-12-cloud"}),
        ({"properties": {"template_id": 9000}}, {"clone_template": "9000"}),
        ({"resource_type": "container", "overrides": {"ostemplate": "local:vztmpl/d12.tar.zst"}},
         {"ostemplate": "local:vztmpl/d12.tar.zst"}),
        # A pool-wide VM template does not apply to containers with an OS template (apply makes them from it) ...
        ({"resource_type": "container", "properties": {"clone_template": "debian-12-cloud",
                                                        "ostemplate": "local:vztmpl/d12.tar.zst"}},
         {"ostemplate": "local:vztmpl/d12.tar.zst"}),
        # ... but a container's own clone source does.
        ({"resource_type": "container", "overrides": {"clone": "ct-base", "ostemplate": "local:vztmpl/d12.tar.zst"}},
         {"clone_template": "ct-base"}),
    ],
)
def test_what_a_guest_is_made_from_is_a_plan_only_field(kwargs: dict[str, Any], expected: dict[str, str]) -> None:
    desired = f.desired_fields(resource("web", **kwargs))
    assert {k: desired[k] for k in f.CREATED_FROM_FIELDS if k in desired} == expected
    # Never compared: a live guest (which reports neither) matches, whatever the template.
    live = {k: v for k, v in desired.items() if k not in f.CREATED_FROM_FIELDS}
    assert diff_fields(desired, live, desired, f.DIFF_RULES) == []
