"""The docker-compose chart on a swarm pool (docker provider options.mode: swarm): a stack file a swarm user expects,
checked by the compose-spec schema and Compose's own loader, and nothing else rendered (no compose.yaml, no .env)."""

from __future__ import annotations

from typing import Any

import yaml

from reconciler.assets import asset_dir
from reconciler.models.effective import EffectiveResource
from reconciler.models.resource import Deployment, NetworkSpec, Port, Requirements, ServiceSpec, Volume
from reconciler.render.chart import ChartLibrary
from reconciler.render.engine import render_chart
from reconciler.render.validators.compose_format import validate as validate_compose


def swarm_resource(**requirements: Any) -> EffectiveResource:
    return EffectiveResource(
        name="web", lab="home", resource_type="service", workload_type="web-app", provider="swarm",
        provider_type="docker", pool="/docker/swarm", pool_name="swarm", orchestrator="swarm",
        requirements=Requirements(**requirements), deployment=Deployment(), network=NetworkSpec(),
        service=ServiceSpec(image="nginx:1.27", ports=[Port(name="http", port=8080, target=80)],
                            env={"PRICE": "5$"}, secret_env={"TOKEN": "WEB_TOKEN"},
                            volumes=[Volume(name="data", path="/data")], restart="on-failure"),
        overrides={"max_replicas_per_node": 1},
    )


def render(resource: EffectiveResource) -> dict[str, str]:
    return dict(render_chart(ChartLibrary([asset_dir("charts")]).get("docker-compose"), resource).files)


def test_a_high_availability_stack_with_ports_secrets_volumes_and_a_gpu() -> None:
    files = render(swarm_resource(cpu=2, memory_gb=1, gpu=1, high_availability=True))
    assert sorted(files) == ["docker-stack.yaml"]
    text = files["docker-stack.yaml"]
    assert validate_compose("docker-stack.yaml", text) == []
    doc = yaml.safe_load(text)
    assert doc["version"] == "3.9"
    web = doc["services"]["web"]
    assert web["environment"] == {"PRICE": "5$$", "TOKEN": "${WEB_TOKEN}"}  # no secret value, no interpolation
    assert web["ports"] == [{"target": 80, "published": 8080, "protocol": "tcp", "mode": "ingress"}]
    deploy = web["deploy"]
    assert deploy["replicas"] == 3
    assert deploy["placement"] == {"preferences": [{"spread": "node.id"}], "max_replicas_per_node": 1}
    assert deploy["update_config"]["order"] == "start-first" and deploy["rollback_config"]["parallelism"] == 1
    assert deploy["restart_policy"]["condition"] == "on-failure"
    assert deploy["resources"] == {
        "limits": {"cpus": "2", "memory": "1024M"},
        "reservations": {"generic_resources": [{"discrete_resource_spec": {"kind": "NVIDIA-GPU", "value": 1}}]},
    }
    assert web["labels"]["homeport.secret-env"] == "TOKEN" and deploy["labels"]["homeport.lab"] == "home"
    assert doc["volumes"]["data"]["labels"]["homeport.resource"] == "web"


def test_without_high_availability_the_stack_runs_deployment_replicas_and_the_engine_chart_is_unchanged() -> None:
    single = swarm_resource(cpu=1)
    doc = yaml.safe_load(render(single)["docker-stack.yaml"])
    assert doc["services"]["web"]["deploy"]["replicas"] == 1
    assert doc["services"]["web"]["deploy"]["placement"] == {"max_replicas_per_node": 1}
    engine = single.model_copy(update={"orchestrator": None})
    assert sorted(render(engine)) == [".env", "compose.yaml"]
