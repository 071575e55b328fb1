"""Record kube-apiserver 1.20 answers into cases/ for the pure parser tests.

    .venv/bin/python -m tests.providers.kubernetes.record_cases

Starts a throwaway etcd + kube-apiserver (tests/backends/kubeapi.py), makes each situation for real,
and stores the server's JSON with volatile metadata (uids, times, resource versions) normalised.
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
from pathlib import Path
from typing import Any

from tests.backends.kubeapi import KubeApiServer, run_kube_apiserver

CASES = Path(__file__).parent / "cases"
VOLATILE = {"uid", "resourceVersion", "creationTimestamp", "time", "selfLink"}


def normalised(value: Any) -> Any:
    """The answer without fields that change on every run."""
    if isinstance(value, dict):
        return {k: ("(volatile)" if k in VOLATILE else normalised(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def apply(server: KubeApiServer, path: str, body: dict[str, Any], manager: str, force: bool = False) -> Any:
    query = f"?fieldManager={manager}" + ("&force=true" if force else "")
    return server.request("PATCH", path + query, json.dumps(body).encode(), content_type="application/apply-patch+yaml")


def record(server: KubeApiServer) -> dict[str, Any]:
    """Each case name -> the server's answer."""
    out: dict[str, Any] = {}
    server.create_namespace("rec")
    path = "/apis/apps/v1/namespaces/rec/deployments/scaled"
    labels = {"app.kubernetes.io/managed-by": "homeport", "homeport.lab": "home", "homeport.resource": "scaled"}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "scaled", "namespace": "rec", "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "scaled"}},
                 "template": {"metadata": {"labels": {"app": "scaled"}},
                              "spec": {"containers": [{"name": "scaled", "image": "registry.lan/web:1.0",
                                                       "resources": {"requests": {"cpu": "1", "memory": "512Mi"}}}]}}},
    }
    apply(server, path, deployment, "homeport")
    scale = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "scaled"}, "spec": {"replicas": 5}}
    apply(server, path, scale, "ops-script", force=True)
    try:
        apply(server, path, deployment, "homeport")
        raise SystemExit("expected a 409 conflict")
    except urllib.error.HTTPError as exc:
        out["apply-conflict-409"] = json.loads(exc.read())
    out["deployment-scaled-by-other-manager"] = {"kind": "Deployment", "apiVersion": "apps/v1",
                                                 **server.request("GET", path)}
    server.request("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "node-1", "labels": {"nvidia.com/gpu.product": "RTX-4090"}}})
    server.request("PATCH", "/api/v1/nodes/node-1/status", json.dumps({"status": {
        "capacity": {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "2", "pods": "110"},
        "allocatable": {"cpu": "15500m", "memory": "62Gi", "nvidia.com/gpu": "2", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "recorded"}],
    }}).encode(), content_type="application/merge-patch+json")
    out["node"] = server.request("GET", "/api/v1/nodes/node-1")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}}
    server.request("POST", "/api/v1/namespaces/rec/services", service)
    out["service-delete-answer"] = server.request("DELETE", "/api/v1/namespaces/rec/services/svc")
    return out


def main() -> None:
    """Record every case into cases/."""
    with tempfile.TemporaryDirectory(prefix="homeport-kube-rec-") as tmp, run_kube_apiserver(Path(tmp)) as server:
        answers = record(server)
    CASES.mkdir(exist_ok=True)
    for name, answer in answers.items():
        (CASES / f"{name}.json").write_text(json.dumps(normalised(answer), indent=2, sort_keys=True) + "\n")
        print(f"wrote {CASES / name}.json")


if __name__ == "__main__":
    main()
