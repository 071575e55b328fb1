"""Pure parsers and fields, table-tested from recorded LXD answers (cases/) and small literal cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.models.inventory import ObservedResource
from reconciler.models.placement import PlacementReport
from reconciler.models.plan import Op
from reconciler.plan.planner import DesiredItem, plan_resource
from reconciler.providers.lxd.facts import (
    HostHardware,
    cpu_count,
    node_facts,
    observed_fields,
    operation_id,
    parse_instances,
    parse_resources,
    passwd_entry,
    pool_space,
    primary_address,
    size_bytes,
)
from reconciler.providers.lxd.fields import (
    chart_defaults,
    desired_fields,
    instance_request,
    restart_reasons,
    rules_for,
)
from reconciler.providers.lxd.observe import resource_for
from tests.providers.lxd.resources import render, resource

CASES = Path(__file__).parent / "cases"


PINNED = PlacementReport(node="lxd1", source="pinned", reason="test")

def case(name: str) -> Any:
    """A recorded answer."""
    return json.loads((CASES / name).read_text())


def test_recorded_listing_parses_into_owned_unmanaged_and_other_labs() -> None:
    instances = parse_instances(case("instances-recursion2.json"))
    assert [i.name for i in instances] == ["other-lab", "stranger", "web"]
    by = {i.name: resource_for(i, "lxd", "lxd1") for i in instances}
    web = by["web"]
    assert (web.name, web.owned, web.lab, web.status, web.node, web.id) == (
        "web",
        True,
        "home",
        "running",
        "lxd1",
        "web",
    )
    assert web.fields == {
        "type": "container",
        "status": "running",
        "autostart": True,
        "gpu_count": 0,
        "profiles": ["default"],
        "image": "homeport-test/busybox",
        "cpu": 2,
        "memory_mb": 512,
        "root_gb": 2,
        "nic": {"nictype": "p2p"},
        "nesting": False,
        "configured": "0123456789abcdef",
        "addresses": {"eth0": ["10.203.7.5"]},  # the recorded listing is recursion=2
    }
    assert primary_address(instances[2]) == "10.203.7.5"
    stranger = by["stranger"]
    assert (stranger.owned, stranger.lab, stranger.status) == (False, None, "stopped")
    assert (stranger.fields["cpu"], stranger.fields["memory_mb"]) == (5, 953)  # 0-3,6 and 1GB (decimal)
    other = by["other-lab"]
    assert (other.name, other.owned, other.lab, other.fields["gpu_count"]) == ("db", True, "work", 1)


def test_recorded_resources_and_allocation_make_the_node() -> None:
    hardware = parse_resources(case("resources.json"))
    assert hardware.cpu_threads == 2 and hardware.memory_bytes == 25769803776 and hardware.gpus == []
    instances = parse_instances(case("instances-recursion2.json"))
    node = node_facts("lxd1", "lxd", hardware, instances)
    assert (node.cpu, node.memory_gb) == (2.0, 24.0)
    # every instance's limits count, running or not: 2 + 5 + 0 CPUs; 512MiB + 1GB + 2GiB
    assert (node.cpu_allocated, node.memory_allocated_gb) == (7.0, round((512 * 2**20 + 10**9 + 2 * 2**30) / 2**30, 3))
    assert node.labels == {"instances": "3"}


def test_gpus_from_resources_are_marked_in_use_by_the_instance_holding_their_pci_address() -> None:
    hardware = parse_resources(
        {
            "cpu": {"total": 8},
            "memory": {"total": 2**34},
            "gpu": {
                "cards": [
                    {"pci_address": "0000:01:00.0", "vendor": "NVIDIA Corporation", "product": "GA102"},
                    {"pci_address": "0000:02:00.0", "vendor": "NVIDIA Corporation", "product": "GA102"},
                ]
            },
        }
    )
    node = node_facts("lxd1", "lxd", hardware, parse_instances(case("instances-recursion2.json")))
    assert [(g.id, g.model, g.in_use_by) for g in node.gpus] == [
        ("0000:01:00.0", "GA102", "other-lab"),
        ("0000:02:00.0", "GA102", None),
    ]
    assert node.free_gpus == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4GiB", 4 * 2**30),
        ("512MiB", 512 * 2**20),
        ("1GB", 10**9),
        ("2048", 2048),
        ("1.5GiB", 3 * 2**29),
        ("", None),
        (None, None),
        ("50%", None),
        ("lots", None),
    ],
)
def test_sizes(text: str | None, expected: int | None) -> None:
    assert size_bytes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("4", 4), ("0-3", 4), ("0-3,6", 5), ("1,3", 2), ("", None), ("x", None)]
)
def test_cpu_limits(text: str, expected: int | None) -> None:
    assert cpu_count(text) == expected


def test_passwd_and_operation_ids() -> None:
    passwd = "root:x:0:0:root:/root:/bin/bash\nansible:x:1000:1001::/home/ansible:/bin/sh\n"
    assert passwd_entry(passwd, "ansible") == (1000, 1001, "/home/ansible")
    assert passwd_entry(passwd, "nobody") is None
    assert operation_id({"type": "async", "operation": "/1.0/operations/3c1f?project=x"}) == "3c1f"
    assert operation_id({"type": "sync", "operation": "", "metadata": {}}) is None


def test_chart_defaults_are_the_charts_values_yaml() -> None:
    values = yaml.safe_load((Path(__file__).parents[3] / "charts" / "lxd-instance" / "values.yaml").read_text())
    assert chart_defaults() == values


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, {"cpu": 1, "memory_mb": 256, "root_gb": 1, "nesting": False}),
        ({"cpu": 4, "memory_gb": 1.5, "storage_gb": 7.2}, {"cpu": 4, "memory_mb": 1536, "root_gb": 8}),
        ({"gpu": True}, {"gpu_count": 1}),
        ({"properties": {"nic_type": "p2p"}}, {"nic": {"nictype": "p2p"}}),
        ({"properties": {"network": "lxdbr0"}}, {"nic": {"network": "lxdbr0"}}),
        ({"resource_type": "compute"}, {"type": "virtual-machine"}),
        ({"network": {"ipv4": "10.0.0.5/24"}}, {"configured": "*"}),
    ],
)
def test_desired_fields_match_what_the_rendered_instance_makes(
    kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    """desired_fields (pure) and the chart's rendered instance agree on every field observe would report."""
    res = resource("web", **kwargs)
    desired = desired_fields(res)
    for key, value in expected.items():
        assert key in desired and (value == "*" or desired[key] == value), (key, desired)
    request = instance_request(render(res), "web")
    item = {
        **request,
        "status": "Running",
        "expanded_config": request["config"],
        "expanded_devices": request["devices"],
    }
    [inst] = parse_instances([item])
    observed = observed_fields(inst)
    assert {k: observed.get(k) for k in desired if k != "configured"} == {
        k: v for k, v in desired.items() if k != "configured"
    }


def test_restart_rules() -> None:
    assert restart_reasons("container", ["memory_mb", "cpu"]) == []
    assert restart_reasons("container", ["nesting"]) == ["nesting"]
    assert restart_reasons("virtual-machine", ["memory_mb", "autostart"]) == ["memory_mb"]


def test_request_from_a_fingerprint_and_from_an_image_server() -> None:
    local = instance_request(render(resource("web", image="19cbb32f85c5")), "web")
    assert local["source"] == {"type": "image", "fingerprint": "19cbb32f85c5"}
    remote = instance_request(render(resource("web", properties={"image_server": "https://images.lxd.lan"})), "web")
    assert remote["source"]["server"] == "https://images.lxd.lan" and remote["source"]["protocol"] == "simplestreams"
    assert HostHardware().cpu_threads == 0


def test_the_plan_says_a_nesting_change_restarts_the_container() -> None:
    res = resource("web", properties={"nesting": True})
    desired = desired_fields(res)
    observed = ObservedResource(
        name="web",
        provider="lxd",
        kind="container",
        id="web",
        owned=True,
        lab="home",
        fields={**desired, "nesting": False},
    )
    planned = plan_resource(DesiredItem(res, desired, rules_for("container", "running")), observed, desired, PINNED)
    assert planned.op is Op.update
    assert planned.reason.endswith("nesting False -> True; restarts it to change nesting"), planned.reason


def test_pool_space_sums_the_pools() -> None:
    answers = [
        {"space": {"used": 2 * 2**30, "total": 10 * 2**30}, "inodes": {}},
        {"space": {"used": 0, "total": 2**30}},
    ]
    assert pool_space(answers) == (11 * 2**30, 2 * 2**30)
    assert pool_space([]) == (0, 0)
