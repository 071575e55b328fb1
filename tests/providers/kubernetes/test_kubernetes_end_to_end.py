"""The whole loop on a real kube-apiserver through the `homeport` CLI and the daemon's run.

plan -> apply -> no-op plan -> replicas changed by another field manager -> deviation (self_heal off)
-> self-heal (forced apply) -> a resource removed from Git is pruned; objects without homeport's labels
in the same namespace stay untouched; the high-availability rendering applies cleanly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.source.gitrepo import commit_worktree, open_repo
from reconciler.source.scaffold import create_lab
from tests.backends.homeport_cli import auto_run, cli, open_deviations
from tests.backends.kubeapi import TOKEN_ENV, KubeApiServer, fresh_namespace
from tests.providers.kubernetes.test_kubernetes_provider import objects_in, plain_config_map, scale_as


def write_lab(source: Path, server: KubeApiServer, namespace: str) -> None:
    """A lab with one kubernetes provider (the test server), one pool and three resources."""
    (source / "pools").mkdir(parents=True, exist_ok=True)
    (source / "resources").mkdir(exist_ok=True)
    (source / "homeport.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    k8s:
      type: kubernetes
      endpoint: "{server.endpoint}"
      ca_file: "{server.ca_file}"
      credentials: {{token_secret_env: {TOKEN_ENV}}}
  reconcile: {{auto_apply: true, self_heal: false, prune: true, max_auto_risk: high, max_prune_fraction: 0.5}}
""")
    (source / "pools" / "k8s.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: k8s}}
spec:
  path: /infrastructure/kubernetes
  provider: k8s
  properties: {{namespace: {namespace}, pdb_api_version: policy/v1beta1, hpa_api_version: autoscaling/v2beta2}}
""")
    for name, extra in [
        ("web", "deployment: {replicas: 2}"),
        ("front", "requirements: {cpu: 1, memory_gb: 1, high_availability: true}"),
        ("extra", "deployment: {replicas: 1}"),
    ]:
        (source / "resources" / f"{name}.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  resource_type: service
  workload_type: web-app
  pool: /infrastructure/kubernetes
  {extra}
  service:
    image: registry.lan/{name}:1.0
    ports: [{{name: http, port: 8080}}]
    env: {{LOG_LEVEL: info}}
""")


def test_plan_apply_noop_conflict_deviation_self_heal_prune(
    kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, kube_apiserver.token)
    ns = fresh_namespace(kube_apiserver, "e2e")
    source, lab = tmp_path / "source", tmp_path / "lab"
    write_lab(source, kube_apiserver, ns)
    create_lab(lab, example=source)

    plan = cli("plan", "--lab", str(lab), "--provider-preview")
    assert sorted((c["op"], c["resource"]) for c in plan["changes"]) == [
        ("create", "extra"), ("create", "front"), ("create", "web"),
    ]
    # The provider's preview is the API server's own dry run of each manifest.
    [web_create] = [c for c in plan["changes"] if c["resource"] == "web"]
    assert web_create["preview"]["lines"] == [f"ConfigMap/web-env: namespace {ns} will be created first",
                                              f"Deployment/web: namespace {ns} will be created first",
                                              f"Service/web: namespace {ns} will be created first"]
    run = cli("apply", "--lab", str(lab), "--auto-approve")
    assert run["status"] == "ok", run
    assert sorted((o["op"], o["status"]) for o in run["outcomes"]) == [("create", "applied")] * 3
    live = objects_in(kube_apiserver, ns)
    assert live["Deployment/web"]["spec"]["replicas"] == 2
    # The HA rendering: 3 replicas, anti-affinity, PDB, HPA and a LoadBalancer Service, all accepted.
    assert live["Deployment/front"]["spec"]["replicas"] == 3
    assert live["Service/front"]["spec"]["type"] == "LoadBalancer"
    assert {"PodDisruptionBudget/front", "HorizontalPodAutoscaler/front"} <= set(live)
    plain_config_map(kube_apiserver, ns, "not-homeports")

    noop = cli("plan", "--lab", str(lab), "--provider-preview")
    assert [c["op"] for c in noop["changes"]] == ["noop"] * 3, noop
    web_status = next(i for i in cli("status", "--lab", str(lab))["instances"] if i["name"] == "web")
    assert web_status["matches"] is True
    assert noop["summary"]["has_changes"] is False

    scale_as(kube_apiserver, ns, "web", 5, manager="ops-script")
    drift = cli("plan", "--lab", str(lab))
    [update] = [c for c in drift["changes"] if c["op"] != "noop"]
    assert (update["op"], update["resource"], update["drift"]) == ("update", "web", True)
    assert [(f["path"], f["old"], f["new"]) for f in update["fields"]] == [
        ("replicas", 5, 2),
        ("taken", ["Deployment/web:spec.replicas = 5 (field manager ops-script)"], []),
    ]

    # self_heal off: the unattended run holds the change back and records the deviation.
    held = auto_run(lab)
    assert held.plan is not None
    [blocked] = [c for c in held.plan.changes if c.resource == "web"]
    assert "self_heal is off" in (blocked.blocked or "")
    assert open_deviations(lab) == [("web", "replicas"), ("web", "taken")]
    assert objects_in(kube_apiserver, ns)["Deployment/web"]["spec"]["replicas"] == 5

    # self_heal on for the resource: the run takes the field back with a forced apply.
    web_yaml = lab / "resources" / "web.yaml"
    web_yaml.write_text(web_yaml.read_text() + "  sync: {self_heal: true}\n")
    commit_worktree(open_repo(lab), "web: self-heal on")
    healed = auto_run(lab)
    assert healed.status == "ok", healed.error
    assert [(o.change.resource, o.change.op.value, o.status) for o in healed.outcomes] == [("web", "update", "applied")]
    deployment = objects_in(kube_apiserver, ns)["Deployment/web"]
    assert deployment["spec"]["replicas"] == 2
    assert open_deviations(lab) == []
    assert [c["op"] for c in cli("plan", "--lab", str(lab))["changes"]] == ["noop"] * 3

    # Removed from Git: pruned. Objects without homeport's labels stay.
    (lab / "resources" / "extra.yaml").unlink()
    commit_worktree(open_repo(lab), "remove extra")
    pruned = cli("apply", "--lab", str(lab), "--auto-approve")
    assert pruned["status"] == "ok", pruned
    assert [(o["op"], o["status"]) for o in pruned["outcomes"]] == [("delete", "applied")]
    left = objects_in(kube_apiserver, ns)
    assert not [key for key in left if key.split("/")[1].startswith("extra")]
    assert "ConfigMap/not-homeports" in left and "Deployment/web" in left and "Deployment/front" in left
    assert [c["op"] for c in cli("plan", "--lab", str(lab))["changes"]] == ["noop"] * 2
