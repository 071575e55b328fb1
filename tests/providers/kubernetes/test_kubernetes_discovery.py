"""discover-infrastructure-context over MCP on a lab with a Kubernetes cluster: node capacity and GPUs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pygit2
import pytest
from mcp import Client

from mcp_server.app import HomeportApp
from reconciler.source.gitrepo import commit_worktree
from tests.backends.kubeapi import TOKEN_ENV, KubeApiServer, fresh_namespace
from tests.mcp.conftest import server_for


def test_discovery_reports_node_allocatable_and_gpus(
    kube_apiserver: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, kube_apiserver.token)
    node = fresh_namespace(kube_apiserver, "gpu-node")
    kube_apiserver.request("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": node, "labels": {"nvidia.com/gpu.product": "NVIDIA-RTX-A4000"}}})
    kube_apiserver.request("PATCH", f"/api/v1/nodes/{node}/status", json.dumps({"status": {
        "allocatable": {"cpu": "7800m", "memory": "30Gi", "nvidia.com/gpu": "1", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "test"}],
    }}).encode(), content_type="application/merge-patch+json")
    lab = tmp_path / "lab"
    (lab / "pools").mkdir(parents=True)
    (lab / "homeport.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    k8s:
      type: kubernetes
      endpoint: "{kube_apiserver.endpoint}"
      ca_file: "{kube_apiserver.ca_file}"
      credentials: {{token_secret_env: {TOKEN_ENV}}}
""")
    (lab / "pools" / "k8s.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: k8s}
spec: {path: /k8s, provider: k8s, properties: {namespace: apps}}
""")
    commit_worktree(pygit2.init_repository(str(lab), initial_head="main"), "lab")
    app = HomeportApp(lab)
    try:
        async def go() -> Any:
            async with Client(server_for(app, "read")) as client:
                return await client.call_tool("discover-infrastructure-context", {"providers": ["kubernetes"]})

        result = anyio.run(go)
    finally:
        app.close()
        kube_apiserver.request("DELETE", f"/api/v1/nodes/{node}")
    assert not result.is_error, result.content[0].text
    [provider] = result.structured_content["providers"]
    assert (provider["name"], provider["type"], provider["status"]) == ("k8s", "kubernetes", "observed")
    [seen] = [n for n in provider["nodes"] if n["name"] == node]
    assert (seen["cpu"], seen["memory_gb"], seen["free_cpu"], seen["status"]) == (7.8, 30.0, 7.8, "online")
    assert [g["model"] for g in seen["gpus"]] == ["NVIDIA-RTX-A4000"]
