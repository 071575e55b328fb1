"""Apply and observe against two real Docker engines: create, no-op, drift, self-heal, delete."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory
from reconciler.models.placement import PlacementReport
from reconciler.models.plan import Change, Op
from reconciler.plan.diff import diff_fields
from reconciler.plan.planner import DesiredItem, plan_resource
from reconciler.providers.docker import DockerProvider
from tests.backends.dockerd import DockerEngine, free_port
from tests.providers.docker.conftest import LAB, render, web_resource

pytestmark = pytest.mark.slow  # real dockerd engines

Build = Callable[..., DockerProvider]


def plan_for(provider: DockerProvider, resource: EffectiveResource, inventory: Inventory) -> Change:
    """The planner's change for a resource, after loading detail the way the diff phase does."""
    observed = inventory.owned(LAB).get(resource.name)
    fields = provider.desired_fields(resource)
    if observed is not None and not all(k in observed.fields for k in fields):
        observed = provider.load_detail(observed)
    item = DesiredItem(resource=resource, fields=fields, rules=provider.diff_rules)
    node = resource.node or (observed.node if observed else None)
    return plan_resource(item, observed, None, PlacementReport(node=node, source="pinned", reason="pinned"))


def create(provider: DockerProvider, resource: EffectiveResource) -> Any:
    """Apply a create change for a resource, with its rendered chart."""
    change = Change(
        op=Op.create,
        resource=resource.name,
        provider="docker",
        provider_type="docker",
        node=resource.node,
        reason="test",
        desired=provider.desired_fields(resource),
    )
    return provider.apply(change, resource, render(resource))


def http_get(port: int) -> str:
    """The page busybox httpd serves on the host network."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return str(response.read().decode())


def test_create_on_two_engines_then_noop(clean_engines: dict[str, DockerEngine], make_provider: Build) -> None:
    provider = make_provider(clean_engines)
    web1 = web_resource("web1", free_port(), node="node1")
    web2 = web_resource("web2", free_port(), node="node2", env={"GREETING": "hi", "MODE": "two"})

    r1 = create(provider, web1)
    r2 = create(provider, web2)
    assert (r1.node, r1.provider_id) == ("node1", "lab1-web1")
    assert (r2.node, r2.provider_id) == ("node2", "lab1-web2")
    assert "1 healthy" in r1.message and "1 healthy" in r2.message
    assert http_get(web1.service.healthcheck.port) == "homeport test page\n"  # type: ignore[union-attr]

    inventory = provider.observe()
    assert inventory.errors == []
    owned = inventory.owned(LAB)
    assert {n: r.node for n, r in owned.items()} == {"web1": "node1", "web2": "node2"}
    assert owned["web1"].kind == "compose-project" and owned["web1"].status == "running"
    for resource in (web1, web2):
        change = plan_for(provider, resource, inventory)
        assert change.op is Op.noop, change.reason
        assert change.reason.startswith("compose-project lab1-")
    nodes = {n.name: n for n in inventory.nodes}
    assert nodes["node1"].status == "online" and nodes["node1"].cpu >= 1 and nodes["node1"].memory_gb > 0

    # The details were inspected once; a second cycle needs only the listings.
    before = {n: dict(e.calls) for n, e in provider.engines.items()}
    again = provider.observe()
    for node, engine in provider.engines.items():
        spent = {k: v - before[node].get(k, 0) for k, v in engine.calls.items() if v - before[node].get(k, 0)}
        assert spent == {"info": 1, "containers": 1, "volumes": 1, "networks": 1}
    assert all(r.detail_loaded for r in again.owned(LAB).values())
    node1 = next(n for n in again.nodes if n.name == "node1")
    # limits count as allocation (a cap homeport set), never as current usage
    assert (node1.cpu_allocated, node1.memory_allocated_gb, node1.guests) == (1.0, 0.25, 1)
    assert (node1.cpu_used, node1.memory_used_gb) == (0, 0)
    assert plan_for(provider, web2, again).op is Op.noop


def test_fields_match_desired_vocabulary(clean_engines: dict[str, DockerEngine], make_provider: Build) -> None:
    provider = make_provider(clean_engines)
    web = web_resource("fields", free_port(), node="node2", env={"A": "1", "B": "two words"})
    create(provider, web)
    observed = provider.load_detail(provider.observe().owned(LAB)["fields"])
    desired = provider.desired_fields(web)
    assert observed.detail_loaded
    assert {k: observed.fields[k] for k in desired} | {
        "env": {k: observed.fields["env"][k] for k in desired["env"]}
    } == desired
    assert desired["volumes"] == [{"name": "data", "path": "/data"}]
    assert desired["cpus"] == 1.0 and desired["memory_mb"] == 256 and desired["health"] == "healthy"
    assert diff_fields(desired, observed.fields, None, provider.diff_rules, []) == []


def stop_container(engine: DockerEngine, name: str) -> None:
    client = engine.client()
    try:
        client.stop(name, timeout=1)
    finally:
        client.close()


def recreate_with_env(engine: DockerEngine, name: str, env: dict[str, str]) -> None:
    """What a person does by hand: remove the container and run it again with other env, same labels."""
    client = engine.client()
    try:
        old = client.inspect_container(name)
        client.remove_container(name, force=True)
        merged = {k: v for k, v in (item.split("=", 1) for item in old["Config"]["Env"])} | env
        host = client.create_host_config(
            network_mode="host",
            binds=old["HostConfig"]["Binds"],
            restart_policy=old["HostConfig"]["RestartPolicy"],
            nano_cpus=old["HostConfig"]["NanoCpus"],
            mem_limit=old["HostConfig"]["Memory"],
        )
        created = client.create_container(
            old["Config"]["Image"],
            command=old["Config"]["Cmd"],
            environment=merged,
            name=name,
            labels=old["Config"]["Labels"],
            host_config=host,
            healthcheck=old["Config"]["Healthcheck"],
        )
        client.start(created["Id"])
    finally:
        client.close()


def wait_until_healthy(engine: DockerEngine, name: str, timeout: float = 60) -> None:
    """Wait (not a timed assertion) until a hand-made container's health check has settled."""
    client = engine.client()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = client.inspect_container(name)["State"].get("Health", {}).get("Status")
            if health == "healthy":
                return
            time.sleep(0.3)
        raise AssertionError(f"{name} never became healthy on {engine.name}")
    finally:
        client.close()


def remove_container(engine: DockerEngine, name: str) -> None:
    client = engine.client()
    try:
        client.remove_container(name, force=True)
    finally:
        client.close()


def drift_of(change: Change) -> dict[str, tuple[Any, Any]]:
    return {f.path: (f.old, f.new) for f in change.fields}


def test_out_of_band_changes_are_drift_and_self_heal(
    clean_engines: dict[str, DockerEngine], make_provider: Build
) -> None:
    provider = make_provider(clean_engines)
    stopped = web_resource("stopped", free_port(), node="node1")
    edited = web_resource("edited", free_port(), node="node2", env={"GREETING": "hello", "LEVEL": "info"})
    gone = web_resource("gone", free_port(), node="node1", volumes=())
    for resource in (stopped, edited, gone):
        create(provider, resource)
    provider.observe()

    stop_container(clean_engines["node1"], "lab1-stopped")
    recreate_with_env(clean_engines["node2"], "lab1-edited", {"LEVEL": "debug"})
    wait_until_healthy(clean_engines["node2"], "lab1-edited")
    remove_container(clean_engines["node1"], "lab1-gone")

    inventory = provider.observe()
    changes = {r.name: plan_for(provider, r, inventory) for r in (stopped, edited, gone)}
    assert changes["stopped"].op is Op.update
    assert drift_of(changes["stopped"])["status"] == ("exited", "running")
    assert changes["edited"].op is Op.update
    assert drift_of(changes["edited"]) == {"env.LEVEL": ("debug", "info")}
    assert changes["gone"].op is Op.create

    for resource in (stopped, edited, gone):
        result = provider.apply(changes[resource.name], resource, render(resource))
        assert "healthy" in result.message

    healed = provider.observe()
    for resource in (stopped, edited, gone):
        change = plan_for(provider, resource, healed)
        assert change.op is Op.noop, change.reason
    assert http_get(gone.service.healthcheck.port)  # type: ignore[union-attr]


def test_delete_keeps_named_volumes_unless_told(clean_engines: dict[str, DockerEngine], make_provider: Build) -> None:
    provider = make_provider(clean_engines)
    keep = web_resource("keep", free_port(), node="node1")
    drop = web_resource("drop", free_port(), node="node1", remove_volumes=True)
    create(provider, keep)
    create(provider, drop)
    provider.observe()

    for name in ("keep", "drop"):
        # A delete comes without a resource (it left the desired state): the label set at apply decides.
        change = Change(
            op=Op.delete,
            resource=name,
            provider="docker",
            provider_type="docker",
            node="node1",
            reason="pruned",
            provider_id=f"lab1-{name}",
        )
        result = provider.apply(change, None, None)
        assert result.outputs["volumes_removed"] is (name == "drop")

    inventory = provider.observe()
    assert inventory.owned(LAB) == {}
    volumes = {r.name: r for r in inventory.resources if r.kind == "volume"}
    assert set(volumes) == {"lab1-keep_data"}
    assert volumes["lab1-keep_data"].status == "retained" and not volumes["lab1-keep_data"].owned
    assert volumes["lab1-keep_data"].fields == {"resource": "keep"}

    again = provider.apply(
        Change(
            op=Op.delete,
            resource="keep",
            provider="docker",
            provider_type="docker",
            node="node1",
            reason="pruned",
        ),
        None,
        None,
    )
    assert again.message == "keep: already gone"


def test_unmanaged_things_are_reported_and_never_touched(
    clean_engines: dict[str, DockerEngine], make_provider: Build
) -> None:
    engine = clean_engines["node2"]
    client = engine.client()
    try:
        client.create_volume("someone-elses-data")
        client.create_network("someone-elses-net", driver="bridge", internal=True)
        created = client.create_container(
            "homeport-test/busybox:1",
            command=["sleep", "300"],
            name="hand-made",
            host_config=client.create_host_config(network_mode="none", nano_cpus=500_000_000, mem_limit="64m"),
        )
        client.start(created["Id"])
    finally:
        client.close()
    provider = make_provider(clean_engines)
    create(provider, web_resource("managed", free_port(), node="node2"))

    inventory = provider.observe()
    unmanaged = {(r.kind, r.name): r for r in inventory.unmanaged(LAB) if r.node == "node2"}
    assert set(unmanaged) == {
        ("container", "hand-made"),
        ("volume", "someone-elses-data"),
        ("network", "someone-elses-net"),
    }
    assert unmanaged[("container", "hand-made")].status == "running"
    assert not any(r.owned for r in unmanaged.values())
    # allocation counts every running container's limits, homeport's (1 CPU, 256 MiB) and the hand-made one's
    node2 = next(n for n in inventory.nodes if n.name == "node2")
    assert (node2.cpu_allocated, node2.memory_allocated_gb, node2.guests) == (1.5, 0.3125, 2)

    # Pruning the managed resource leaves the hand-made things alone.
    provider.apply(
        Change(
            op=Op.delete,
            resource="managed",
            provider="docker",
            provider_type="docker",
            node="node2",
            reason="pruned",
        ),
        None,
        None,
    )
    after = {(r.kind, r.name) for r in provider.observe().unmanaged(LAB) if r.node == "node2"}
    assert {
        ("container", "hand-made"),
        ("volume", "someone-elses-data"),
        ("network", "someone-elses-net"),
    } <= after


def test_pinning_another_node_moves_the_resource(clean_engines: dict[str, DockerEngine], make_provider: Build) -> None:
    provider = make_provider(clean_engines)
    create(provider, web_resource("mover", free_port(), node="node1"))
    # Another port: the test engines share one host network, real Docker hosts do not.
    moved = web_resource("mover", free_port(), node="node2")
    change = plan_for(provider, moved, provider.observe())
    assert change.op is Op.update and change.node == "node1"
    assert drift_of(change)["node"] == ("node1", "node2") and "command" in drift_of(change)

    result = provider.apply(change, moved, render(moved))
    assert result.node == "node2"
    assert result.message.endswith("; moved from node1 (its named volumes stay there)")
    inventory = provider.observe()
    assert inventory.owned(LAB)["mover"].node == "node2"
    assert [(r.name, r.node, r.status) for r in inventory.resources if r.kind == "volume" and r.node == "node1"] == [
        ("lab1-mover_data", "node1", "retained")
    ]
