"""Fixtures for the Kubernetes provider tests: a real kube-apiserver (tests/backends/kubeapi.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.providers.base import ProviderContext
from reconciler.providers.kubernetes import KubernetesProvider
from reconciler.store.database import open_database
from reconciler.store.provider_state import DbProviderState
from tests.backends.kubeapi import TOKEN_ENV, KubeApiServer, kube_apiserver  # noqa: F401  (fixture)

LAB = "prov"


def token_config(server: KubeApiServer, **options: Any) -> dict[str, Any]:
    """A provider entry reaching the server with a bearer token by environment variable."""
    return {
        "type": "kubernetes",
        "endpoint": server.endpoint,
        "ca_file": str(server.ca_file),
        "credentials": {"token_secret_env": TOKEN_ENV},
        "options": options,
    }


def make_provider(
    server: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict[str, Any] | None = None,
    lab: str = LAB,
) -> KubernetesProvider:
    """A KubernetesProvider for a lab on the test server, state in SQLite under tmp_path."""
    monkeypatch.setenv(TOKEN_ENV, server.token)
    db = open_database(f"sqlite:///{tmp_path / 'homeport.db'}")
    ctx = ProviderContext(
        lab=lab,
        name="k8s",
        config=ProviderConfig.model_validate(config or token_config(server)),
        state=DbProviderState(db, lab, "k8s"),
        work_dir=tmp_path,
        sleep=time.sleep,
    )
    return KubernetesProvider(ctx)
