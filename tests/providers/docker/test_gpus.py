"""GPUs on Docker engines: the lab declares them per engine (Docker's info does not count NVIDIA GPUs), CDI devices
the engine discovers are added, containers' device requests mark them in use, and placement puts a container that
asks for a GPU on an engine with a free one. Device requests are read in the shape a real dockerd stores them."""

from __future__ import annotations

from typing import Any

import docker
import pytest

from reconciler.models.inventory import Gpu, NodeFacts
from reconciler.models.lab import ProviderConfig
from reconciler.models.placement import PlacementRules
from reconciler.models.resource import Requirements
from reconciler.plan.placement import Ledger, place
from reconciler.providers.docker.facts import count_limits, engine_gpus, gpu_requests, node_facts
from reconciler.providers.docker.fields import container_demand, desired_fields
from reconciler.providers.docker.settings import docker_settings
from reconciler.providers.errors import PermanentProviderError
from tests.backends.dockerd import TEST_IMAGE, DockerEngine
from tests.providers.docker.conftest import web_resource


def settings_of(engine: Any) -> Any:
    config = ProviderConfig(type="docker", nodes=["gpu-box"],
                            options={"engines": {"gpu-box": engine}})
    return docker_settings("docker", config)


def test_declared_gpus_are_read_with_ids_and_models() -> None:
    spec = settings_of({"endpoint": "unix:///run/docker.sock",
                        "gpus": [{"id": 0, "model": "RTX 3090"}, {"id": "GPU-5d3c", "model": "A4000"}]})
    assert [(g.id, g.model) for g in spec.engines["gpu-box"].gpus] == [("0", "RTX 3090"), ("GPU-5d3c", "A4000")]
    by_model = settings_of({"endpoint": "unix:///run/docker.sock", "gpus": ["RTX 3090", "RTX 3090"]})
    assert [(g.id, g.model) for g in by_model.engines["gpu-box"].gpus] == [("0", "RTX 3090"), ("1", "RTX 3090")]


@pytest.mark.parametrize(("gpus", "message"), [
    ("RTX 3090", "gpus must be a list"),
    ([{"model": "RTX 3090"}], "gpus[0] needs an id"),
    ([{"id": True}], "gpus[0] needs an id"),
    ([{"id": 0, "vram": 24}], "gpus[0]: unknown keys vram (known: id, model)"),
    ([{"id": 0}, {"id": "0"}], "gpus lists an id twice"),
])
def test_bad_gpu_declarations_are_refused_naming_the_engine(gpus: Any, message: str) -> None:
    with pytest.raises(PermanentProviderError) as err:
        settings_of({"endpoint": "unix:///run/docker.sock", "gpus": gpus})
    assert "engine 'gpu-box'" in str(err.value) and message in str(err.value)


def test_cdi_devices_the_engine_discovered_are_added_once() -> None:
    info = {"DiscoveredDevices": [
        {"Source": "cdi", "ID": "nvidia.com/gpu=0"},      # declared below as "0": not twice
        {"Source": "cdi", "ID": "nvidia.com/gpu=1"},
        {"Source": "cdi", "ID": "nvidia.com/gpu=all"},    # the all-devices alias is no GPU of its own
        {"Source": "cdi", "ID": "amd.com/gpu=0"},
        {"Source": "cdi", "ID": "vendor.com/fpga=0"},     # not a GPU
        {"Source": "other", "ID": "nvidia.com/gpu=2"},
    ]}
    gpus = engine_gpus(info, [("0", "RTX 3090")])
    assert [(g.id, g.model, g.vendor) for g in gpus] == [
        ("0", "RTX 3090", "nvidia"), ("nvidia.com/gpu=1", "", "nvidia"), ("amd.com/gpu=0", "", "amd")]
    assert engine_gpus({}, []) == []
    facts = node_facts("docker", "gpu-box", {"NCPU": 8, "MemTotal": 16 * 1024**3}, gpus)
    assert (facts.cpu, facts.memory_gb, facts.free_gpus) == (8.0, 16.0, 3)


def test_containers_device_requests_mark_gpus_in_use() -> None:
    def facts() -> NodeFacts:
        return NodeFacts(name="gpu-box", provider="docker", cpu=8, memory_gb=16,
                         gpus=[Gpu(id="0", model="RTX 3090"), Gpu(id="1", model="RTX 3090"),
                               Gpu(id="nvidia.com/gpu=2")])

    by_id = facts()  # a container asking for device 1 (by id) and one asking for any one GPU: 1, then 0
    count_limits(by_id, [{"gpu_requests": {"name": "any", "count": 1, "ids": []}},
                         {"gpu_requests": {"name": "second", "count": 0, "ids": ["1"]}},
                         {"gpu_requests": {"name": "cdi", "count": 0, "ids": ["2"]}}])
    assert [g.in_use_by for g in by_id.gpus] == ["any", "second", "cdi"]
    assert by_id.free_gpus == 0
    everything = facts()
    count_limits(everything, [{"gpu_requests": {"name": "all", "count": -1, "ids": []}}])
    assert [g.in_use_by for g in everything.gpus] == ["all", "all", "all"]
    none = facts()
    count_limits(none, [{"cpus": 1.0, "memory_mb": 512}])
    assert none.free_gpus == 3 and none.cpu_allocated == 1.0 and none.guests == 1


def test_device_requests_as_a_real_dockerd_stores_them(docker_engines: dict[str, DockerEngine]) -> None:
    """docker create --gpus device=0,1 / --gpus 2 / --gpus all (created, not started: no GPU here)."""
    client = docker_engines["node1"].client()
    asked = {
        "ids": docker.types.DeviceRequest(device_ids=["0", "1"], capabilities=[["gpu"]]),
        "two": docker.types.DeviceRequest(count=2, capabilities=[["gpu"]]),
        "all": docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]]),
        "none": None,
    }
    made = []
    try:
        read = {}
        for name, request in asked.items():
            host = client.create_host_config(device_requests=[request] if request else None, network_mode="none")
            made.append(client.create_container(TEST_IMAGE, command=["true"], host_config=host)["Id"])
            read[name] = gpu_requests(client.inspect_container(made[-1])["HostConfig"])
        assert read == {"ids": (0, ["0", "1"]), "two": (2, []), "all": (-1, []), "none": (0, [])}
    finally:
        for container in made:
            client.remove_container(container, force=True)
        client.close()


def test_observed_engine_carries_its_declared_gpus(clean_engines: dict[str, DockerEngine], make_provider: Any) -> None:
    provider = make_provider(clean_engines, engine_settings={"node1": {"gpus": [{"id": "0", "model": "RTX 3090"}]}})
    inventory = provider.observe()
    nodes = {n.name: n for n in inventory.nodes}
    assert [(g.id, g.model, g.in_use_by) for g in nodes["node1"].gpus] == [("0", "RTX 3090", None)]
    assert nodes["node2"].gpus == []
    # A container asking for a GPU goes to the engine that has one, the other is not even a candidate.
    resource = web_resource("ollama", 11434, node=None, cpu=None, memory_gb=None).model_copy(
        update={"requirements": Requirements(gpu=1, gpu_model="RTX 3090")})
    report = place(resource.name, container_demand(resource, desired_fields(resource)), PlacementRules(),
                   Ledger.of(list(nodes.values())))
    assert report.node == "node1", report
    # With its only GPU taken, nothing fits, and the reason names the GPU.
    nodes["node1"].gpus[0].in_use_by = "another"
    held = place(resource.name, container_demand(resource, desired_fields(resource)), PlacementRules(),
                 Ledger.of(list(nodes.values())))
    assert held.node is None and "0 free RTX 3090 GPU(s), needs 1" in held.reason, held
