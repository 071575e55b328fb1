"""Preflight runs the API server's own server-side dry run (dryRun=All) of every manifest a change would apply:
a manifest the server refuses holds the change back with the API's message, in the plan and in the run, and
nothing is written. Against a real kube-apiserver 1.20."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.source.scaffold import create_lab
from tests.backends.homeport_cli import cli, cli_status
from tests.backends.kubeapi import TOKEN_ENV, KubeApiServer, fresh_namespace
from tests.providers.kubernetes.conftest import make_provider
from tests.providers.kubernetes.resources import artifacts, change, workload
from tests.providers.kubernetes.test_kubernetes_end_to_end import write_lab
from tests.providers.kubernetes.test_kubernetes_provider import objects_in


def test_preflight_rendered_is_the_servers_dry_run(
    kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = make_provider(kube_apiserver, tmp_path, monkeypatch)
    ns = fresh_namespace(kube_apiserver)
    kube_apiserver.create_namespace(ns)
    res = workload("pre", ns)
    assert provider.preflight_renders
    assert provider.preflight_rendered(change(provider, res), res, artifacts(res)) == []
    files = artifacts(res)
    files.files["service.yaml"] = files.files["service.yaml"].replace("protocol: TCP", "protocol: XTP")
    [problem] = provider.preflight_rendered(change(provider, res), res, files)
    assert problem.startswith("the API server refuses Service/pre: ") and 'Unsupported value: "XTP"' in problem
    assert problem.endswith("(server-side dry run)")
    assert objects_in(kube_apiserver, ns) == {}


def test_a_manifest_the_server_refuses_is_held_back_in_plan_and_apply(
    kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A namespace whose ResourceQuota allows no Service: the API server's admission refuses the dry run."""
    monkeypatch.setenv(TOKEN_ENV, kube_apiserver.token)
    ns = fresh_namespace(kube_apiserver, "quota")
    kube_apiserver.create_namespace(ns)
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-services"},
             "spec": {"hard": {"services": "0"}}}
    kube_apiserver.request("POST", f"/api/v1/namespaces/{ns}/resourcequotas", quota)
    # its status, as the resource-quota controller would write it (no controller-manager runs here)
    quota = kube_apiserver.request("GET", f"/api/v1/namespaces/{ns}/resourcequotas/no-services")
    quota["status"] = {"hard": {"services": "0"}, "used": {"services": "0"}}
    kube_apiserver.request("PUT", f"/api/v1/namespaces/{ns}/resourcequotas/no-services/status", quota)
    source, lab = tmp_path / "source", tmp_path / "lab"
    write_lab(source, kube_apiserver, ns)
    for name in ("front", "extra"):
        (source / "resources" / f"{name}.yaml").unlink()
    lab_file = source / "homeport.yaml"  # a lab of its own: other tests' labs share this API server
    lab_file.write_text(lab_file.read_text().replace("metadata: {name: home}", "metadata: {name: quota}"))
    create_lab(lab, example=source)

    plan = cli("plan", "--lab", str(lab))
    [web] = plan["changes"]
    assert (web["op"], web["resource"], web["block"]["kind"]) == ("create", "web", "preflight")
    assert web["blocked"] == web["block"]["message"]
    assert "the API server refuses Service/web" in web["block"]["message"]
    assert "exceeded quota: no-services" in web["block"]["message"]  # the API's own words
    assert "ResourceQuota: raise it" in web["block"]["message"] and "RBAC" not in web["block"]["message"]
    assert "Deployment" not in web["block"]["message"]  # the Deployment passes its dry run

    code, run = cli_status("apply", "--lab", str(lab), "--auto-approve")
    assert code == 4, run  # held back
    assert objects_in(kube_apiserver, ns) == {}  # nothing written, not even the ConfigMap
