"""Pure parsers, table-tested: quantities, managedFields, rollout status, nodes, conflicts, desired fields.

Recorded answers of kube-apiserver 1.20 live in cases/ (written by record_cases.py against the test server).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.providers.kubernetes.facts import (
    conflict_fields,
    cpu_cores,
    field_owners,
    fields_v1_paths,
    mebibytes,
    node_facts,
    rollout_status,
)
from reconciler.providers.kubernetes.fields import chart_values, desired_fields, observed_fields, rendered_objects
from tests.providers.kubernetes.resources import workload

CASES = Path(__file__).parent / "cases"


def case(name: str) -> Any:
    return json.loads((CASES / f"{name}.json").read_text())


@pytest.mark.parametrize(
    ("text", "cores", "mib"),
    [("1", 1.0, None), ("500m", 0.5, None), ("15500m", 15.5, None), (2, 2.0, None), ("1Gi", None, 1024.0),
     ("512Mi", None, 512.0), ("1G", None, 953.674), ("64Gi", None, 65536.0), ("1.5", 1.5, None)],
)
def test_quantities(text: Any, cores: float | None, mib: float | None) -> None:
    if cores is not None:
        assert cpu_cores(text) == cores
    if mib is not None:
        assert mebibytes(text) == mib


def test_not_a_quantity() -> None:
    assert cpu_cores("lots") is None and mebibytes(None) is None and cpu_cores(True) is None


def test_fields_v1_leaves() -> None:
    tree = {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}}}}}
    assert fields_v1_paths(tree) == {
        "spec.replicas",
        'spec.template.spec.containers[{"name":"web"}].image',
        'spec.template.spec.containers[{"name":"web"}].name',
    }


def test_recorded_deployment_after_another_manager_scaled_it() -> None:
    deployment = case("deployment-scaled-by-other-manager")
    owners = field_owners(deployment)
    assert owners["spec.replicas"] == "ops-script"
    assert owners['spec.template.spec.containers[{"name":"scaled"}].image'] == "homeport"
    fields = observed_fields("scaled", [deployment], "nvidia.com/gpu")
    assert fields["replicas"] == 5
    assert fields["taken"] == ["Deployment/scaled:spec.replicas (field manager ops-script)"]
    assert fields["health"] == "unknown"


def test_recorded_conflict_names_field_and_manager() -> None:
    assert conflict_fields(case("apply-conflict-409")) == [
        '.spec.replicas: conflict with "ops-script"'
    ]


@pytest.mark.parametrize(
    ("status", "spec_replicas", "generation", "expected"),
    [
        ({}, 2, 1, "unknown"),
        ({"observedGeneration": 1}, 2, 2, "progressing"),
        ({"observedGeneration": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}, 2, 2, "healthy"),
        ({"observedGeneration": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1}, 2, 2,
         "progressing"),
        ({"observedGeneration": 2, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]},
         2, 2, "degraded"),
        ({"observedGeneration": 3}, 0, 3, "healthy"),
    ],
)
def test_rollout_status(status: dict[str, Any], spec_replicas: int, generation: int, expected: str) -> None:
    obj = {"kind": "Deployment", "metadata": {"generation": generation}, "spec": {"replicas": spec_replicas},
           "status": status}
    assert rollout_status(obj) == expected


def test_recorded_node() -> None:
    node = node_facts(case("node"), "k8s", "nvidia.com/gpu")
    assert (node.cpu, node.memory_gb, node.status, len(node.gpus)) == (15.5, 62.0, "online", 2)
    assert node.gpus[0].model == "RTX-4090"


def test_desired_fields_follow_the_chart() -> None:
    plain = workload("web", "apps", replicas=2)
    assert desired_fields(plain) == {
        "namespace": "apps",
        "workload": "Deployment",
        "objects": ["ConfigMap/web-env", "Deployment/web", "Service/web"],
        "cpu": 1.0,
        "memory_mb": 512,
        "taken": [],
        "image": "registry.lan/web:1.0",
        "replicas": 2,
        "env": {"LOG_LEVEL": "info"},
        "ports": [{"name": "http", "port": 8080, "target": 8080, "protocol": "TCP"}],
        "service_type": "ClusterIP",
    }
    ha = workload("web", "apps", replicas=1, high_availability=True, overrides={"ingress_host": "web.lab"})
    fields = desired_fields(ha)
    assert "replicas" not in fields and fields["autoscaling"] == {"min_replicas": 3, "max_replicas": 10}
    assert fields["service_type"] == "ClusterIP"
    assert rendered_objects(ha, chart_values(ha)) == [
        "ConfigMap/web-env", "Deployment/web", "HorizontalPodAutoscaler/web", "Ingress/web",
        "PodDisruptionBudget/web", "Service/web",
    ]
    assert desired_fields(workload("web", "apps", high_availability=True))["service_type"] == "LoadBalancer"


def test_a_new_pod_template_is_planned_as_a_restart() -> None:
    from reconciler.models.inventory import ObservedResource
    from reconciler.models.placement import PlacementReport
    from reconciler.plan.planner import DesiredItem, plan_resource
    from reconciler.providers.kubernetes.fields import DIFF_RULES

    old = workload("web", "apps", image="registry.lan/web:1.0")
    new = workload("web", "apps", image="registry.lan/web:1.1")
    live = ObservedResource(name="web", provider="k8s", kind="deployment", owned=True, lab="prov",
                            fields=desired_fields(old))
    item = DesiredItem(resource=new, fields=desired_fields(new), rules=DIFF_RULES)
    scheduler = PlacementReport(node=None, reason="the scheduler places pods")
    change = plan_resource(item, live, desired_fields(old), scheduler)
    assert change.op.value == "update"
    assert change.reason.endswith("restarts it to change image")
    scaled = DesiredItem(resource=workload("web", "apps", replicas=5), fields=desired_fields(
        workload("web", "apps", replicas=5)), rules=DIFF_RULES)
    assert "restarts" not in plan_resource(scaled, live, None, PlacementReport(node=None, reason="")).reason
