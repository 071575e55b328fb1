"""Faults on real engines: an engine that is down, a missing image, a failing health check."""

from __future__ import annotations

import pytest

from reconciler.models.plan import Change, Op
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from tests.backends.dockerd import DockerEngine, free_port
from tests.providers.docker.conftest import LAB, render, web_resource
from tests.providers.docker.test_converge import Build, create

pytestmark = pytest.mark.slow  # real dockerd engines


def project_leftovers(engine: DockerEngine, project: str) -> tuple[list[str], list[str]]:
    """Containers and volumes of a compose project still on an engine."""
    client = engine.client()
    try:
        label = f"com.docker.compose.project={project}"
        containers = [c["Names"][0] for c in client.containers(all=True, filters={"label": label})]
        volumes = [v["Name"] for v in client.volumes(filters={"label": label}).get("Volumes") or []]
        return containers, volumes
    finally:
        client.close()


def test_engine_down_is_reported_and_the_other_node_goes_on(
    clean_engines: dict[str, DockerEngine], spare_engine: DockerEngine, make_provider: Build
) -> None:
    provider = make_provider({"node1": clean_engines["node1"], "spare": spare_engine})
    create(provider, web_resource("on-spare", free_port(), node="spare"))
    spare_engine.stop()
    spare_engine.socket.unlink(missing_ok=True)

    inventory = provider.observe()
    nodes = {n.name: n.status for n in inventory.nodes}
    assert nodes == {"node1": "online", "spare": "offline"}
    assert len(inventory.errors) == 1
    assert inventory.errors[0].startswith(f"engine spare (unix://{spare_engine.socket}): ")
    assert "No such file or directory" in inventory.errors[0]
    assert "on-spare" not in inventory.owned(LAB)

    moved = web_resource("still-spare", free_port(), node="spare")
    with pytest.raises(TransientProviderError) as down:
        create(provider, moved)
    assert "engine spare" in str(down.value) and "cannot reach the engine" in str(down.value)
    assert down.value.delay > 0

    problems = provider.preflight(
        [
            Change(
                op=Op.create,
                resource="x",
                provider="docker",
                provider_type="docker",
                node="spare",
                reason="test",
            )
        ]
    )
    assert len(problems) == 1 and problems[0].startswith("engine spare") and "start the engine" in problems[0]

    result = create(provider, web_resource("on-node1", free_port(), node="node1"))
    assert result.node == "node1" and "healthy" in result.message
    assert "on-node1" in provider.observe().owned(LAB)


def test_missing_image_fails_before_anything_is_created(
    clean_engines: dict[str, DockerEngine], make_provider: Build
) -> None:
    provider = make_provider(clean_engines)
    broken = web_resource("no-image", free_port(), node="node1", image="homeport-test/missing:1")
    with pytest.raises(PermanentProviderError) as failed:
        create(provider, broken)
    message = str(failed.value)
    assert message.startswith("engine node1 (unix://")
    assert "No such image: homeport-test/missing:1" in message
    assert project_leftovers(clean_engines["node1"], "lab1-no-image") == ([], [])

    ok = create(provider, web_resource("fine", free_port(), node="node2"))
    assert ok.node == "node2"


def test_failing_health_check_is_a_recorded_failure(
    clean_engines: dict[str, DockerEngine], make_provider: Build
) -> None:
    provider = make_provider(clean_engines)
    sick = web_resource("sick", free_port(), node="node2", health_command=["sh", "-c", "echo no answer; exit 3"])
    with pytest.raises(PermanentProviderError) as failed:
        create(provider, sick)
    message = str(failed.value)
    assert "engine node2" in message
    assert "container lab1-sick is unhealthy: last check exited 3: no answer" in message
    observed = provider.observe().owned(LAB)["sick"]
    assert observed.status == "unhealthy" and observed.fields["health"] == "unhealthy"


def test_unplaced_or_unknown_node_is_a_clear_error(
    clean_engines: dict[str, DockerEngine], make_provider: Build
) -> None:
    provider = make_provider(clean_engines)
    unplaced = web_resource("nowhere", free_port(), node=None)
    change = Change(op=Op.create, resource="nowhere", provider="docker", provider_type="docker", reason="t")
    with pytest.raises(PermanentProviderError, match=r"no node chosen; pin placement\.node to one of node1, node2"):
        provider.apply(change, unplaced, render(unplaced))
    elsewhere = web_resource("elsewhere", free_port(), node="node9")
    with pytest.raises(PermanentProviderError, match="node 'node9' is not an engine of docker provider 'docker'"):
        create(provider, elsewhere)
