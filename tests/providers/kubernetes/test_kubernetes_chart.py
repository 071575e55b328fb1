"""The kubernetes-workload chart on definitions as the architecture document writes them (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.render.chart import ChartLibrary
from reconciler.render.engine import render_chart
from reconciler.render.errors import RenderError
from reconciler.render.validators.kubernetes_format import validate
from tests.providers.kubernetes.resources import CHARTS
from tests.render.lab import load_lab

LAB = """\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {name: home}
spec:
  providers:
    k8s: {type: kubernetes, enabled: false, options: {kubeconfig: ~/.kube/config}}
"""
POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: k8s}
spec: {path: /k8s, provider: k8s, properties: {namespace: ai}}
"""


def resource(name: str, workload: str, extra: str = "") -> str:
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  resource_type: service
  workload_type: {workload}
  pool: /k8s
  requirements: {{cpu: 4, memory_gb: 8, gpu: true, high_availability: true}}
{extra}"""


def write(tmp_path: Path, resources: dict[str, str]) -> Path:
    (tmp_path / "pools").mkdir()
    (tmp_path / "resources").mkdir()
    (tmp_path / "homeport.yaml").write_text(LAB)
    (tmp_path / "pools" / "k8s.yaml").write_text(POOL)
    for name, text in resources.items():
        (tmp_path / "resources" / f"{name}.yaml").write_text(text)
    return tmp_path


def test_the_documents_ollama_definition_renders_with_the_profiles_image(tmp_path: Path) -> None:
    state = load_lab(write(tmp_path, {"ollama-gpu": resource("ollama-gpu", "ai-inference"),
                                      "jenkins-prod": resource("jenkins-prod", "jenkins")}))
    chart = ChartLibrary([CHARTS]).get("kubernetes-workload")
    files = render_chart(chart, state.effective["ollama-gpu"]).files
    [deployment, pdb, hpa] = [d for d in yaml.safe_load_all(files["deployment.yaml"]) if d]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ollama/ollama"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert deployment["spec"]["replicas"] == 3 and (pdb["kind"], hpa["kind"]) == (
        "PodDisruptionBudget", "HorizontalPodAutoscaler")
    for name, text in files.items():
        assert validate(name, text) == [], name
    jenkins = render_chart(chart, state.effective["jenkins-prod"]).files["deployment.yaml"]
    assert 'image: "jenkins/jenkins:lts-jdk21"' in jenkins


def test_a_workload_without_a_profile_image_is_refused_with_the_field_to_set(tmp_path: Path) -> None:
    state = load_lab(write(tmp_path, {"batch": resource("batch", "general")}))
    chart = ChartLibrary([CHARTS]).get("kubernetes-workload")
    with pytest.raises(RenderError) as refused:
        render_chart(chart, state.effective["batch"])
    assert "set service.image" in str(refused.value) and "resource.service" in str(refused.value)
