"""Drift from managedFields on a real kube-apiserver 1.20: every field homeport applied, on every object.

Another field manager changing a field homeport's server-side apply owns (an Ingress host, a
PodDisruptionBudget's budget, an autoscaler's bounds, probes, anti-affinity, labels, a custom
resource's spec) is drift naming the field and the manager; fields homeport never set (what the API
server defaults, an annotation someone else adds) never are. Each test uses a namespace of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.plan import Op
from reconciler.models.resource import ServiceSpec
from reconciler.phases.context import LabSession
from reconciler.plan.diff import diff_fields
from reconciler.providers.base import RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.kubernetes import KubernetesProvider
from reconciler.providers.kubernetes.provider import APPLIED_PREFIX
from reconciler.source.gitrepo import commit_worktree, open_repo
from reconciler.source.scaffold import create_lab
from reconciler.store.deviations import list_open_deviations
from tests.backends.homeport_cli import auto_run, cli
from tests.backends.kubeapi import TOKEN_ENV, KubeApiServer, fresh_namespace
from tests.providers.kubernetes.conftest import LAB, make_provider
from tests.providers.kubernetes.resources import artifacts, change, workload
from tests.providers.kubernetes.test_kubernetes_provider import WIDGET_CRD

PATHS = {
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets/{name}",
    "Service": "/api/v1/namespaces/{ns}/services/{name}",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps/{name}",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}",
    "PodDisruptionBudget": "/apis/policy/v1beta1/namespaces/{ns}/poddisruptionbudgets/{name}",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2beta2/namespaces/{ns}/horizontalpodautoscalers/{name}",
    "Widget": "/apis/lab.example/v1/namespaces/{ns}/widgets/{name}",
}
PATCH_TYPES = {"json": "application/json-patch+json", "merge": "application/merge-patch+json",
               "strategic": "application/strategic-merge-patch+json"}


def edit_as(server: KubeApiServer, ns: str, key: str, patch: Any, manager: str, how: str = "merge") -> None:
    """Another field manager changes an object as `kubectl edit`/`patch` would (an Update operation)."""
    kind, name = key.split("/")
    server.request("PATCH", PATHS[kind].format(ns=ns, name=name) + f"?fieldManager={manager}",
                   json.dumps(patch).encode(), content_type=PATCH_TYPES[how])


def read(server: KubeApiServer, ns: str, key: str) -> dict[str, Any]:
    kind, name = key.split("/")
    answer: dict[str, Any] = server.request("GET", PATHS[kind].format(ns=ns, name=name))
    return answer


def taken(provider: KubernetesProvider, name: str) -> list[str]:
    """The drift observe reports for a resource, after checking nothing else differs."""
    fields = provider.observe().owned(LAB)[name].fields
    return list(fields["taken"])


@pytest.fixture
def provider(kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KubernetesProvider:
    """A provider for lab `prov` with a bearer token, state in SQLite."""
    return make_provider(kube_apiserver, tmp_path, monkeypatch)


def test_an_ingress_host_another_manager_changed_is_drift_and_self_heal_restores_it(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    res = workload("site", ns, overrides={"ingress_host": "site.lab.example", "ingress_class": "traefik"})
    provider.apply(change(provider, res), res, artifacts(res))
    assert taken(provider, "site") == []

    # `kubectl edit` of the host: an Update by another manager, which now owns spec.rules (an atomic list).
    edit_as(kube_apiserver, ns, "Ingress/site", [{"op": "replace", "path": "/spec/rules/0/host",
                                                  "value": "evil.lab.example"}], "ops-edit", "json")
    observed = provider.observe().owned(LAB)["site"]
    assert observed.fields["taken"] == [
        'Ingress/site:spec.rules[0].host = "evil.lab.example" (field manager ops-edit)'
    ]
    assert [(f.path, f.new) for f in diff_fields(provider.desired_fields(res), observed.fields, None,
                                                 provider.diff_rules)] == [("taken", [])]

    # Without the resource's self_heal the apply is refused with the API's conflict, nothing changes.
    with pytest.raises(PermanentProviderError, match=r"\.spec\.rules.*ops-edit.*sync\.self_heal"):
        provider.apply(change(provider, res, Op.update), res, artifacts(res))
    assert read(kube_apiserver, ns, "Ingress/site")["spec"]["rules"][0]["host"] == "evil.lab.example"

    healing = workload("site", ns, self_heal=True,
                       overrides={"ingress_host": "site.lab.example", "ingress_class": "traefik"})
    provider.apply(change(provider, healing, Op.update), healing, artifacts(healing))
    ingress = read(kube_apiserver, ns, "Ingress/site")
    assert ingress["spec"]["rules"][0]["host"] == "site.lab.example"
    assert [m["manager"] for m in ingress["metadata"]["managedFields"]] == ["homeport"]
    assert taken(provider, "site") == []


def test_a_disruption_budget_and_autoscaler_bounds_changed_are_drift(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    res = workload("guarded", ns, high_availability=True)
    provider.apply(change(provider, res), res, artifacts(res))
    assert taken(provider, "guarded") == []

    edit_as(kube_apiserver, ns, "PodDisruptionBudget/guarded", {"spec": {"maxUnavailable": 2}}, "ops")
    edit_as(kube_apiserver, ns, "HorizontalPodAutoscaler/guarded", {"spec": {"minReplicas": 1}}, "ops")
    assert taken(provider, "guarded") == [
        "HorizontalPodAutoscaler/guarded:spec.minReplicas = 1 (field manager ops)",
        "PodDisruptionBudget/guarded:spec.maxUnavailable = 2 (field manager ops)",
    ]
    # The autoscaler scaling the workload is its job, not drift (replicas are left to it).
    edit_as(kube_apiserver, ns, "Deployment/guarded", {"spec": {"replicas": 7}}, "horizontal-pod-autoscaler")
    assert not [line for line in taken(provider, "guarded") if line.startswith("Deployment/")]

    healing = workload("guarded", ns, high_availability=True, self_heal=True)
    provider.apply(change(provider, healing, Op.update), healing, artifacts(healing))
    assert read(kube_apiserver, ns, "PodDisruptionBudget/guarded")["spec"]["maxUnavailable"] == 1
    assert read(kube_apiserver, ns, "HorizontalPodAutoscaler/guarded")["spec"]["minReplicas"] == 3
    assert read(kube_apiserver, ns, "Deployment/guarded")["spec"]["replicas"] == 7
    assert taken(provider, "guarded") == []

    # The budget swapped for a minAvailable: homeport's maxUnavailable is gone, whoever wrote last is named.
    edit_as(kube_apiserver, ns, "PodDisruptionBudget/guarded", [{"op": "remove", "path": "/spec/maxUnavailable"},
                                                           {"op": "add", "path": "/spec/minAvailable", "value": 2}],
            "ops-budget", "json")
    assert taken(provider, "guarded") == [
        "PodDisruptionBudget/guarded:spec.maxUnavailable removed (last written by field manager ops-budget)"
    ]


def test_the_pod_template_probes_and_anti_affinity_are_watched(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    res = workload("probed", ns, high_availability=True)
    res.service = ServiceSpec.model_validate(
        {**res.service.model_dump(), "healthcheck": {"http_path": "/health", "interval": "10s", "retries": 3}}
    )
    provider.apply(change(provider, res), res, artifacts(res))
    assert taken(provider, "probed") == []

    container = {"name": "probed", "readinessProbe": {"periodSeconds": 99}}
    edit_as(kube_apiserver, ns, "Deployment/probed", {"spec": {"template": {"spec": {"containers": [container]}}}},
            "tuner", "strategic")
    deployment = read(kube_apiserver, ns, "Deployment/probed")
    affinity = deployment["spec"]["template"]["spec"]["affinity"]
    affinity["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] = 5
    edit_as(kube_apiserver, ns, "Deployment/probed", {"spec": {"template": {"spec": {"affinity": affinity}}}},
            "scheduler-tweak")
    assert taken(provider, "probed") == [
        "Deployment/probed:spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuring"
        "Execution[0].weight = 5 (field manager scheduler-tweak)",
        "Deployment/probed:spec.template.spec.containers[name=probed].readinessProbe.periodSeconds = 99 "
        "(field manager tuner)",
    ]


def test_fields_homeport_never_set_are_never_drift(kube_apiserver: KubeApiServer, provider: KubernetesProvider) -> None:
    """Server defaults (strategy, sessionAffinity, clusterIP) and an annotation or label someone else adds
    are not homeport's: changing them is not drift. A label homeport set is, and so is removing it."""
    ns = fresh_namespace(kube_apiserver)
    res = workload("plain", ns)
    provider.apply(change(provider, res), res, artifacts(res))
    service = read(kube_apiserver, ns, "Service/plain")
    deployment = read(kube_apiserver, ns, "Deployment/plain")
    assert service["spec"]["clusterIP"] and service["spec"]["sessionAffinity"] == "None"
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    record = provider.ctx.state.get(APPLIED_PREFIX + "plain")
    recorded = {".".join(leaf) for leaf, _ in record["Service/plain"]["fields"]}
    assert not [p for p in recorded if "clusterIP" in p or "sessionAffinity" in p]
    assert taken(provider, "plain") == []

    edit_as(kube_apiserver, ns, "Service/plain", {"spec": {"sessionAffinity": "ClientIP"},
                                                  "metadata": {"annotations": {"team": "payments"}}}, "ops")
    edit_as(kube_apiserver, ns, "Deployment/plain", {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": None}},
                                                     "metadata": {"labels": {"cost-center": "42"},
                                                                  "annotations": {"note": "by hand"}}}, "ops")
    observed = provider.observe().owned(LAB)["plain"]
    assert diff_fields(provider.desired_fields(res), observed.fields, None, provider.diff_rules) == []

    relabel = {"metadata": {"labels": {"app.kubernetes.io/name": "other"}}}
    edit_as(kube_apiserver, ns, "Deployment/plain", relabel, "ops")
    edit_as(kube_apiserver, ns, "ConfigMap/plain-env", [{"op": "remove", "path": "/data/LOG_LEVEL"}], "ops", "json")
    # A removal that leaves the remover owning nothing leaves no trace of who it was: the field is named alone.
    assert taken(provider, "plain") == [
        "ConfigMap/plain-env:data.LOG_LEVEL removed",
        'Deployment/plain:metadata.labels["app.kubernetes.io/name"] = "other" (field manager ops)',
    ]


def test_a_custom_resource_and_a_stateful_workload_are_watched(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    gizmos = workload("gizmos", ns)
    files = RenderedArtifacts(chart="custom", files={
        "crd.yaml": WIDGET_CRD,
        "widget.yaml": f"apiVersion: lab.example/v1\nkind: Widget\nmetadata: {{name: g1, namespace: {ns}}}\n"
                       "spec: {size: 3}\n",
    })
    provider.apply(change(provider, gizmos), gizmos, files)
    db = workload("ledger", ns, env={})
    db.stateful = True
    provider.apply(change(provider, db), db, artifacts(db))
    assert taken(provider, "gizmos") == [] and taken(provider, "ledger") == []

    edit_as(kube_apiserver, ns, "Widget/g1", {"spec": {"size": 5}}, "operator")
    edit_as(kube_apiserver, ns, "StatefulSet/ledger", {"spec": {"template": {"spec": {"containers": [
        {"name": "ledger", "image": "registry.lan/db:hacked"}]}}}}, "ops", "strategic")
    assert taken(provider, "gizmos") == ["Widget/g1:spec.size = 5 (field manager operator)"]
    assert taken(provider, "ledger") == [
        'StatefulSet/ledger:spec.template.spec.containers[name=ledger].image = "registry.lan/db:hacked" '
        "(field manager ops)"
    ]


def test_observe_reads_drift_without_extra_requests(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    res = workload("counted", ns, high_availability=True, overrides={"ingress_host": "c.lab.example"})
    provider.apply(change(provider, res), res, artifacts(res))
    edit_as(kube_apiserver, ns, "Ingress/counted", [{"op": "replace", "path": "/spec/rules/0/host",
                                                     "value": "x.lab.example"}], "ops", "json")
    inventory = provider.observe()
    assert inventory.owned(LAB)["counted"].fields["taken"] == [
        'Ingress/counted:spec.rules[0].host = "x.lab.example" (field manager ops)'
    ]
    # One cluster-wide list per kind the chart renders and one of nodes: drift costs no request of its own.
    assert inventory.api_calls == 10


def write_lab(source: Path, server: KubeApiServer, namespace: str) -> None:
    """A lab with one Kubernetes resource behind an Ingress; unattended runs, self_heal off."""
    (source / "pools").mkdir(parents=True, exist_ok=True)
    (source / "resources").mkdir(exist_ok=True)
    (source / "homeport.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: drift}}
spec:
  providers:
    k8s:
      type: kubernetes
      endpoint: "{server.endpoint}"
      ca_file: "{server.ca_file}"
      credentials: {{token_secret_env: {TOKEN_ENV}}}
  reconcile: {{auto_apply: true, self_heal: false, prune: true, max_auto_risk: high}}
""")
    (source / "pools" / "k8s.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: k8s}}
spec:
  path: /infrastructure/kubernetes
  provider: k8s
  properties: {{namespace: {namespace}, ingress_host: web.lab.example, ingress_class: traefik}}
""")
    (source / "resources" / "portal.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {name: portal}
spec:
  resource_type: service
  workload_type: web-app
  pool: /infrastructure/kubernetes
  deployment: {replicas: 2}
  service:
    image: registry.lan/portal:1.0
    ports: [{name: http, port: 8080}]
""")


def deviations(lab: Path) -> list[tuple[str, str, Any]]:
    """(resource, field, actual value) of every open deviation of lab `drift`."""
    session = LabSession.open(lab)
    try:
        return sorted((d.resource, d.field_path, d.actual_value) for d in list_open_deviations(session.db, "drift"))
    finally:
        session.close()


def test_an_ingress_edit_through_the_cli_is_a_deviation_until_self_heal(
    kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, kube_apiserver.token)
    ns = fresh_namespace(kube_apiserver, "drift")
    source, lab = tmp_path / "source", tmp_path / "lab"
    write_lab(source, kube_apiserver, ns)
    create_lab(lab, example=source)
    run = cli("apply", "--lab", str(lab), "--auto-approve")
    assert run["status"] == "ok", run
    assert read(kube_apiserver, ns, "Ingress/portal")["spec"]["rules"][0]["host"] == "web.lab.example"
    assert [c["op"] for c in cli("plan", "--lab", str(lab))["changes"]] == ["noop"]

    edit_as(kube_apiserver, ns, "Ingress/portal", [{"op": "replace", "path": "/spec/rules/0/host",
                                                 "value": "phish.example"}], "kubectl-edit", "json")
    [update] = cli("plan", "--lab", str(lab))["changes"]
    assert (update["op"], update["drift"]) == ("update", True)
    line = 'Ingress/portal:spec.rules[0].host = "phish.example" (field manager kubectl-edit)'
    assert [(f["path"], f["old"], f["new"]) for f in update["fields"]] == [("taken", [line], [])]

    held = auto_run(lab)
    assert held.plan is not None and "self_heal is off" in (held.plan.changes[0].blocked or "")
    assert deviations(lab) == [("portal", "taken", [line])]
    assert read(kube_apiserver, ns, "Ingress/portal")["spec"]["rules"][0]["host"] == "phish.example"

    web_yaml = lab / "resources" / "portal.yaml"
    web_yaml.write_text(web_yaml.read_text() + "  sync: {self_heal: true}\n")
    commit_worktree(open_repo(lab), "portal: self-heal on")
    healed = auto_run(lab)
    assert healed.status == "ok", healed.error
    assert read(kube_apiserver, ns, "Ingress/portal")["spec"]["rules"][0]["host"] == "web.lab.example"
    assert deviations(lab) == []
    assert [c["op"] for c in cli("plan", "--lab", str(lab))["changes"]] == ["noop"]
