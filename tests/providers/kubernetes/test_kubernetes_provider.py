"""The provider against a real kube-apiserver 1.20: apply, observe, conflicts, prune, delete, preflight.

Each test works in a namespace of its own: without a controller-manager, deleted namespaces stay Terminating.
"""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.plan import Op
from reconciler.plan.diff import diff_fields
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.kubernetes import KubernetesProvider
from tests.backends.kubeapi import KubeApiServer, fresh_namespace
from tests.providers.kubernetes.conftest import LAB, make_provider, token_config
from tests.providers.kubernetes.resources import artifacts, change, workload

DEPLOYMENTS = "/apis/apps/v1/namespaces/{ns}/deployments"


def objects_in(server: KubeApiServer, namespace: str) -> dict[str, dict[str, Any]]:
    """Kind/name -> object of every ConfigMap, Deployment, Service, PDB and HPA in a namespace."""
    out = {}
    for kind, path in [
        ("ConfigMap", f"/api/v1/namespaces/{namespace}/configmaps"),
        ("Deployment", DEPLOYMENTS.format(ns=namespace)),
        ("Service", f"/api/v1/namespaces/{namespace}/services"),
        ("PodDisruptionBudget", f"/apis/policy/v1beta1/namespaces/{namespace}/poddisruptionbudgets"),
        ("HorizontalPodAutoscaler", f"/apis/autoscaling/v2beta2/namespaces/{namespace}/horizontalpodautoscalers"),
    ]:
        for item in server.request("GET", path)["items"]:
            if kind == "ConfigMap" and item["metadata"]["name"] == "kube-root-ca.crt":
                continue
            out[f"{kind}/{item['metadata']['name']}"] = item
    return out


def scale_as(server: KubeApiServer, namespace: str, name: str, replicas: int, manager: str) -> None:
    """Another field manager takes spec.replicas with a forced server-side apply (as kubectl would)."""
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": {"replicas": replicas}}
    server.request(
        "PATCH",
        f"{DEPLOYMENTS.format(ns=namespace)}/{name}?fieldManager={manager}&force=true",
        json.dumps(body).encode(),
        content_type="application/apply-patch+yaml",
    )


def plain_config_map(server: KubeApiServer, namespace: str, name: str, labels: dict[str, str] | None = None) -> None:
    """A ConfigMap homeport does not manage (no labels, or someone else's)."""
    server.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
         "data": {"a": "b"}},
    )


@pytest.fixture
def provider(kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KubernetesProvider:
    """A provider for lab `home` with a bearer token."""
    return make_provider(kube_apiserver, tmp_path, monkeypatch)


def test_apply_creates_namespace_and_objects_then_observe_matches(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    res = workload("web", ns)
    result = provider.apply(change(provider, res), res, artifacts(res))
    assert "created namespace " + ns in result.message
    assert sorted(objects_in(kube_apiserver, ns)) == ["ConfigMap/web-env", "Deployment/web", "Service/web"]
    deployment = objects_in(kube_apiserver, ns)["Deployment/web"]
    assert [m["manager"] for m in deployment["metadata"]["managedFields"]] == ["homeport"]
    assert deployment["metadata"]["labels"]["homeport.resource"] == "web"

    inventory = provider.observe()
    observed = inventory.owned(LAB)["web"]
    # No controller-manager runs: nobody reports a rollout, so health is unknown, never "healthy".
    assert observed.status == "unknown"
    assert observed.fields["objects"] == ["ConfigMap/web-env", "Deployment/web", "Service/web"]
    assert diff_fields(provider.desired_fields(res), observed.fields, None, provider.diff_rules) == []
    # One cluster-wide list per namespaced kind the chart renders, and one list of nodes (none here).
    assert inventory.api_calls == 10


def test_values_the_server_defaults_are_not_drift(kube_apiserver: KubeApiServer, provider: KubernetesProvider) -> None:
    ns = fresh_namespace(kube_apiserver)
    res = workload("defaults", ns)
    provider.apply(change(provider, res), res, artifacts(res))
    deployment = objects_in(kube_apiserver, ns)["Deployment/defaults"]
    # The API server filled strategy, revisionHistoryLimit, terminationMessagePath ... homeport set none of them.
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"]
    observed = provider.observe().owned(LAB)["defaults"]
    assert diff_fields(provider.desired_fields(res), observed.fields, None, provider.diff_rules) == []


def test_another_field_manager_is_drift_and_only_self_heal_takes_it_back(
    kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    res = workload("scaled", ns, replicas=2)
    provider.apply(change(provider, res), res, artifacts(res))
    scale_as(kube_apiserver, ns, "scaled", 5, manager="ops-script")

    observed = provider.observe().owned(LAB)["scaled"]
    fields = diff_fields(provider.desired_fields(res), observed.fields, provider.desired_fields(res),
                         provider.diff_rules)
    assert [(f.path, f.old, f.new) for f in fields] == [
        ("replicas", 5, 2),
        ("taken", ["Deployment/scaled:spec.replicas = 5 (field manager ops-script)"], []),
    ]

    # self_heal unset: the apply is refused with the conflict, nothing changes.
    with pytest.raises(PermanentProviderError, match=r"\.spec\.replicas.*ops-script.*sync\.self_heal"):
        provider.apply(change(provider, res, Op.update), res, artifacts(res))
    assert objects_in(kube_apiserver, ns)["Deployment/scaled"]["spec"]["replicas"] == 5

    healing = workload("scaled", ns, replicas=2, self_heal=True)
    # options.conflicts: never overrides the resource's consent ...
    never = make_provider(kube_apiserver, tmp_path / "never", monkeypatch, token_config(kube_apiserver,
                                                                                         conflicts="never"))
    with pytest.raises(PermanentProviderError, match=r"\.spec\.replicas"):
        never.apply(change(never, healing, Op.update), healing, artifacts(healing))
    # ... and the resource's sync.self_heal: true takes the field back with a forced apply.
    provider.apply(change(provider, healing, Op.update), healing, artifacts(healing))
    deployment = objects_in(kube_apiserver, ns)["Deployment/scaled"]
    assert deployment["spec"]["replicas"] == 2
    observed = provider.observe().owned(LAB)["scaled"]
    assert observed.fields["taken"] == []
    assert diff_fields(provider.desired_fields(healing), observed.fields, None, provider.diff_rules) == []


def test_objects_no_longer_rendered_are_pruned_and_unlabelled_ones_kept(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    res = workload("pruned", ns, env={"A": "1"})
    provider.apply(change(provider, res), res, artifacts(res))
    plain_config_map(kube_apiserver, ns, "someone-elses")
    plain_config_map(kube_apiserver, ns, "other-lab", {"app.kubernetes.io/managed-by": "homeport",
                                                      "homeport.lab": "other", "homeport.resource": "pruned"})

    without_env = workload("pruned", ns, env={})
    result = provider.apply(change(provider, without_env, Op.update), without_env, artifacts(without_env))
    assert "pruned ConfigMap/pruned-env" in result.message
    assert sorted(objects_in(kube_apiserver, ns)) == [
        "ConfigMap/other-lab", "ConfigMap/someone-elses", "Deployment/pruned", "Service/pruned",
    ]


def test_delete_removes_only_the_resources_labelled_objects(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    gone, kept = workload("gone", ns), workload("kept", ns)
    for res in (gone, kept):
        provider.apply(change(provider, res), res, artifacts(res))
    plain_config_map(kube_apiserver, ns, "unlabelled")

    provider.observe()
    result = provider.apply(change(provider, gone, Op.delete), None, None)
    # The Service delete answer of a 1.20 server is a Status object, read as JSON at the edge.
    assert result.message == "gone: deleted Service/gone, Deployment/gone, ConfigMap/gone-env"
    assert sorted(objects_in(kube_apiserver, ns)) == [
        "ConfigMap/kept-env", "ConfigMap/unlabelled", "Deployment/kept", "Service/kept",
    ]
    again = provider.apply(change(provider, gone, Op.delete), None, None)
    assert again.message == "gone: already gone"


def test_the_typed_client_cannot_parse_a_1_20_service_delete_answer(kube_apiserver: KubeApiServer) -> None:
    """Why the provider reads answers as JSON: the official client's typed Service delete fails on 1.20."""
    from kubernetes import client as k8s

    ns = fresh_namespace(kube_apiserver)
    kube_apiserver.create_namespace(ns)
    kube_apiserver.request("POST", f"/api/v1/namespaces/{ns}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
        "spec": {"ports": [{"port": 80}]},
    })
    configuration = k8s.Configuration()
    configuration.host = kube_apiserver.endpoint
    configuration.ssl_ca_cert = str(kube_apiserver.ca_file)
    configuration.api_key = {"BearerToken": kube_apiserver.token}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    with k8s.ApiClient(configuration) as api_client, pytest.raises(ValueError, match=r"V1ServiceStatus|validation"):
        k8s.CoreV1Api(api_client).delete_namespaced_service("svc", ns)
    # ... although the server did delete it.
    with pytest.raises(urllib.error.HTTPError) as gone:
        kube_apiserver.request("GET", f"/api/v1/namespaces/{ns}/services/svc")
    assert gone.value.code == 404


def test_a_manifest_the_api_refuses_fails_in_the_dry_run_and_nothing_is_written(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    kube_apiserver.create_namespace(ns)
    res = workload("refused", ns)
    files = artifacts(res)
    files.files["service.yaml"] = files.files["service.yaml"].replace("protocol: TCP", "protocol: XTP")
    with pytest.raises(PermanentProviderError) as refused:
        provider.apply(change(provider, res), res, files)
    assert "dry run" in str(refused.value) and 'Unsupported value: "XTP"' in str(refused.value)
    assert objects_in(kube_apiserver, ns) == {}

    preview = provider.preview(change(provider, res), res, files)
    assert preview is not None and preview["accepted"] is False
    assert any(line.startswith("Service/refused: ") and "XTP" in line for line in preview["lines"])
    assert "Deployment/refused: accepted (dry run)" in preview["lines"]


def test_preflight_names_an_unreachable_server_and_a_missing_namespace(
    kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns = fresh_namespace(kube_apiserver)
    strict = make_provider(kube_apiserver, tmp_path, monkeypatch, token_config(kube_apiserver, create_namespaces=False))
    res = workload("pre", ns)
    [problem] = strict.preflight([change(strict, res)])
    assert problem == f"namespace {ns} does not exist and options.create_namespaces is false: create it"
    narrow = make_provider(kube_apiserver, tmp_path / "narrow", monkeypatch,
                           token_config(kube_apiserver, namespaces=["elsewhere"]))
    [problem] = narrow.preflight([change(narrow, res)])
    assert problem.startswith(f"namespace {ns} is not in options.namespaces (elsewhere)")

    down = dict(token_config(kube_apiserver), endpoint="https://127.0.0.1:9")
    unreachable = make_provider(kube_apiserver, tmp_path / "down", monkeypatch, down)
    [problem] = unreachable.preflight([change(unreachable, res)])
    assert "cannot reach the API server" in problem and "https://127.0.0.1:9 with a bearer token" in problem
    with pytest.raises(TransientProviderError):
        unreachable.observe()


def test_kubeconfig_and_context(kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = fresh_namespace(kube_apiserver)
    kubeconfig = kube_apiserver.kubeconfig(tmp_path / "kubeconfig", context="lab")
    config = {"type": "kubernetes", "options": {"kubeconfig": str(kubeconfig), "context": "lab"}}
    provider = make_provider(kube_apiserver, tmp_path, monkeypatch, config)
    res = workload("viakubeconfig", ns)
    provider.apply(change(provider, res), res, artifacts(res))
    assert "viakubeconfig" in provider.observe().owned(LAB)

    wrong = {"type": "kubernetes", "options": {"kubeconfig": str(kubeconfig), "context": "nope"}}
    with pytest.raises(PermanentProviderError, match=r"cannot load kubeconfig .* context nope"):
        make_provider(kube_apiserver, tmp_path / "w", monkeypatch, wrong).observe()


def test_observe_per_namespace_lists_each_kind_once_per_namespace(
    kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spaces = [fresh_namespace(kube_apiserver) for _ in range(2)]
    provider = make_provider(kube_apiserver, tmp_path, monkeypatch, token_config(kube_apiserver, namespaces=spaces))
    for ns in spaces:
        res = workload(f"in-{ns}"[:40], ns)
        provider.apply(change(provider, res), res, artifacts(res))
    inventory = provider.observe()
    assert len(inventory.owned(LAB)) == 2
    assert inventory.api_calls == 9 * 2 + 1


def test_capacity_from_node_allocatable(kube_apiserver: KubeApiServer, provider: KubernetesProvider) -> None:
    name = fresh_namespace(kube_apiserver, "node")
    kube_apiserver.request("POST", "/api/v1/nodes", {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"nvidia.com/gpu.product": "RTX-4090"}},
    })
    kube_apiserver.request("PATCH", f"/api/v1/nodes/{name}/status", json.dumps({"status": {
        "capacity": {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "2", "pods": "110"},
        "allocatable": {"cpu": "15500m", "memory": "62Gi", "nvidia.com/gpu": "2", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "test"}],
    }}).encode(), content_type="application/merge-patch+json")
    try:
        nodes = {n.name: n for n in provider.observe().nodes}
        node = nodes[name]
        assert (node.cpu, node.memory_gb, len(node.gpus), node.status) == (15.5, 62.0, 2, "online")
        assert node.gpus[0].model == "RTX-4090" and node.free_gpus == 2
    finally:
        kube_apiserver.request("DELETE", f"/api/v1/nodes/{name}")


def test_high_availability_rendering_applies_and_hands_replicas_to_the_autoscaler(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    res = workload("ha", ns, replicas=1, high_availability=True)
    result = provider.apply(change(provider, res), res, artifacts(res))
    assert result.outputs["objects"] == [
        "ConfigMap/ha-env", "Deployment/ha", "Service/ha", "HorizontalPodAutoscaler/ha", "PodDisruptionBudget/ha",
    ]
    live = objects_in(kube_apiserver, ns)
    assert live["Deployment/ha"]["spec"]["replicas"] == 3
    affinity = live["Deployment/ha"]["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert affinity["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"] == (
        "kubernetes.io/hostname"
    )
    assert live["Service/ha"]["spec"]["type"] == "LoadBalancer"
    assert live["PodDisruptionBudget/ha"]["spec"]["maxUnavailable"] == 1
    assert (live["HorizontalPodAutoscaler/ha"]["spec"]["minReplicas"],
            live["HorizontalPodAutoscaler/ha"]["spec"]["maxReplicas"]) == (3, 10)

    # Until the autoscaler acts, homeport keeps the replicas at the HPA's minimum (they never drop).
    provider.apply(change(provider, res, Op.update), res, artifacts(res))
    assert objects_in(kube_apiserver, ns)["Deployment/ha"]["spec"]["replicas"] == 3
    # The autoscaler's controller (absent here) changes replicas: from then on homeport leaves them to it.
    scale_as(kube_apiserver, ns, "ha", 6, manager="horizontal-pod-autoscaler")
    provider.apply(change(provider, res, Op.update), res, artifacts(res))
    deployment = objects_in(kube_apiserver, ns)["Deployment/ha"]
    assert deployment["spec"]["replicas"] == 6
    observed = provider.observe().owned(LAB)["ha"]
    assert diff_fields(provider.desired_fields(res), observed.fields, None, provider.diff_rules) == []


def test_secret_variables_reach_the_cluster_and_nothing_else(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from reconciler.models.resource import ServiceSpec

    ns = fresh_namespace(kube_apiserver)
    monkeypatch.setenv("HOMEPORT_TEST_DB_PASSWORD", "hunter2-not-in-git")
    res = workload("withsecret", ns)
    res.service = ServiceSpec.model_validate(
        {**res.service.model_dump(), "secret_env": {"DB_PASSWORD": "HOMEPORT_TEST_DB_PASSWORD"}}
    )
    files = artifacts(res)
    assert "hunter2" not in "".join(files.files.values())
    result = provider.apply(change(provider, res), res, files)
    assert "Secret/withsecret-secrets" in result.outputs["objects"] and "hunter2" not in result.message
    secret = kube_apiserver.request("GET", f"/api/v1/namespaces/{ns}/secrets/withsecret-secrets")
    assert base64.b64decode(secret["data"]["DB_PASSWORD"]) == b"hunter2-not-in-git"

    inventory = provider.observe()
    assert "hunter2" not in inventory.model_dump_json()
    assert "aHVudGVyMi1ub3QtaW4tZ2l0" not in inventory.model_dump_json()
    observed = inventory.owned(LAB)["withsecret"]
    assert "Secret/withsecret-secrets" in observed.fields["objects"]
    assert diff_fields(provider.desired_fields(res), observed.fields, None, provider.diff_rules) == []
    # What homeport records of its apply (for drift) holds the Secret's keys, never their values.
    record = json.dumps(provider.ctx.state.items(""))
    assert "DB_PASSWORD" in record and "hunter2" not in record and "aHVudGVyMi1ub3QtaW4tZ2l0" not in record
    # Another field manager rewriting the value is drift, named by key and manager, the value never shown.
    kube_apiserver.request("PATCH", f"/api/v1/namespaces/{ns}/secrets/withsecret-secrets?fieldManager=ops",
                           json.dumps({"stringData": {"DB_PASSWORD": "changed-by-hand"}}).encode(),
                           content_type="application/merge-patch+json")
    inventory = provider.observe()
    assert inventory.owned(LAB)["withsecret"].fields["taken"] == [
        "Secret/withsecret-secrets:data.DB_PASSWORD (field manager ops)"
    ]
    assert "changed-by-hand" not in inventory.model_dump_json()
    # homeport applies stringData, the other manager wrote data: no conflict, the next apply puts the value back.
    provider.apply(change(provider, res, Op.update), res, artifacts(res))
    secret = kube_apiserver.request("GET", f"/api/v1/namespaces/{ns}/secrets/withsecret-secrets")
    assert base64.b64decode(secret["data"]["DB_PASSWORD"]) == b"hunter2-not-in-git"
    assert provider.observe().owned(LAB)["withsecret"].fields["taken"] == []


def test_a_stateful_workload_and_an_ingress_apply_and_match(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    from reconciler.models.resource import ServiceSpec

    ns = fresh_namespace(kube_apiserver)
    db = workload("db", ns, replicas=1, ports=[{"name": "pg", "port": 5432}], env={})
    db.stateful = True
    db.service = ServiceSpec.model_validate({**db.service.model_dump(), "volumes": [
        {"name": "data", "path": "/var/lib/postgresql/data", "size_gb": 5}]})
    provider.apply(change(provider, db), db, artifacts(db))
    sts = kube_apiserver.request("GET", f"/apis/apps/v1/namespaces/{ns}/statefulsets/db")
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "5Gi"

    web = workload("shop", ns, high_availability=True, overrides={"ingress_host": "shop.lab.example",
                                                                  "ingress_class": "traefik"})
    provider.apply(change(provider, web), web, artifacts(web))
    ingress = kube_apiserver.request("GET", f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/shop")
    assert ingress["spec"]["rules"][0]["host"] == "shop.lab.example"
    assert objects_in(kube_apiserver, ns)["Service/shop"]["spec"]["type"] == "ClusterIP"

    owned = provider.observe().owned(LAB)
    assert owned["db"].kind == "statefulset"
    for res in (db, web):
        assert diff_fields(provider.desired_fields(res), owned[res.name].fields, None, provider.diff_rules) == []


WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.lab.example}
spec:
  group: lab.example
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {size: {type: integer}}}
"""


def test_a_crd_and_its_custom_resources_in_one_resource(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    """A custom chart's CRD is applied and established before the objects of its kind, which are then
    observed, pruned and deleted like the chart's own; the CRD itself is never deleted with a resource."""
    from reconciler.providers.base import RenderedArtifacts

    ns = fresh_namespace(kube_apiserver)
    res = workload("widgets", ns)

    def widgets(*names: str) -> RenderedArtifacts:
        docs = [f"apiVersion: lab.example/v1\nkind: Widget\nmetadata: {{name: {n}, namespace: {ns}}}\n"
                f"spec: {{size: 3}}\n" for n in names]
        return RenderedArtifacts(chart="custom", files={"crd.yaml": WIDGET_CRD, "widgets.yaml": "---\n".join(docs)})

    result = provider.apply(change(provider, res), res, widgets("w1", "w2"))
    assert result.outputs["objects"] == ["CustomResourceDefinition/widgets.lab.example", "Widget/w1", "Widget/w2"]
    observed = provider.observe().owned(LAB)["widgets"]
    assert observed.fields["objects"] == ["Widget/w1", "Widget/w2"]

    again = provider.apply(change(provider, res, Op.update), res, widgets("w1"))
    assert "pruned Widget/w2" in again.message
    provider.observe()
    gone = provider.apply(change(provider, res, Op.delete), None, None)
    assert gone.message == "widgets: deleted Widget/w1"
    assert kube_apiserver.request("GET", f"/apis/lab.example/v1/namespaces/{ns}/widgets")["items"] == []
    assert kube_apiserver.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.lab.example")


def test_rename_applies_the_new_name_then_deletes_the_old_one(
    kube_apiserver: KubeApiServer, provider: KubernetesProvider
) -> None:
    ns = fresh_namespace(kube_apiserver)
    old = workload("before", ns)
    provider.apply(change(provider, old), old, artifacts(old))
    new = workload("after", ns)
    result = provider.apply(change(provider, new, Op.rename, previous_name="before"), new, artifacts(new))
    assert result.message.endswith("renamed from before: before: deleted Service/before, Deployment/before, "
                                   "ConfigMap/before-env")
    assert sorted(objects_in(kube_apiserver, ns)) == ["ConfigMap/after-env", "Deployment/after", "Service/after"]

    stateful = workload("db2", ns, env={})
    stateful.stateful = True
    provider.apply(change(provider, stateful), stateful, artifacts(stateful))
    moved = workload("db3", ns, env={})
    moved.stateful = True
    with pytest.raises(PermanentProviderError, match="empty volumes"):
        provider.apply(change(provider, moved, Op.rename, previous_name="db2"), moved, artifacts(moved))
    statefulsets = kube_apiserver.request("GET", f"/apis/apps/v1/namespaces/{ns}/statefulsets")["items"]
    assert [s["metadata"]["name"] for s in statefulsets] == ["db2"]


def test_unmanaged_workloads_are_reported_on_request_and_never_touched(
    kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns = fresh_namespace(kube_apiserver)
    provider = make_provider(kube_apiserver, tmp_path, monkeypatch,
                             token_config(kube_apiserver, namespaces=[ns], report_unmanaged=True))
    mine = workload("mine", ns)
    provider.apply(change(provider, mine), mine, artifacts(mine))
    foreign = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hand-made"},
               "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {
                   "metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "x", "image": "x"}]}}}}
    kube_apiserver.request("POST", DEPLOYMENTS.format(ns=ns), foreign)
    inventory = provider.observe()
    assert sorted(inventory.owned(LAB)) == ["mine"]
    assert [(r.name, r.kind, r.status) for r in inventory.unmanaged(LAB)] == [
        (f"{ns}/hand-made", "deployment", "unknown")
    ]
    assert inventory.api_calls == 9 + 2 + 1
