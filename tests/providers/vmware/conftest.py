"""Fixtures for the VMware provider tests: a real vcsim (tests/backends/vcsim.py) and a provider on it."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyVim.connect import Disconnect, SmartConnect

from reconciler.models.lab import ProviderConfig
from reconciler.providers.base import ProviderContext
from reconciler.providers.vmware import VmwareProvider
from reconciler.store.database import open_database
from reconciler.store.provider_state import DbProviderState
from tests.backends.vcsim import VcsimServer, run_vcsim

LAB = "home"
PASSWORD_ENV = "HOMEPORT_TEST_VSPHERE_PASSWORD"


def provider_config(server: VcsimServer, **overrides: Any) -> dict[str, Any]:
    """The homeport.yaml provider entry for this vcsim (password by environment variable)."""
    config: dict[str, Any] = {
        "type": "vmware",
        "endpoint": server.endpoint,
        "ca_file": str(server.ca_file),
        "credentials": {"password_env": PASSWORD_ENV, "username": server.username},
        "options": {"task_timeout": 60},
    }
    config.update(overrides)
    return config


def make_provider(
    server: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> VmwareProvider:
    """A VmwareProvider for lab `home` on vcsim, with its state in SQLite under tmp_path."""
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    db = open_database(f"sqlite:///{tmp_path / 'homeport.db'}")
    ctx = ProviderContext(
        lab=LAB,
        name="vsphere",
        config=ProviderConfig.model_validate(provider_config(server, **overrides)),
        state=DbProviderState(db, LAB, "vsphere"),
        work_dir=tmp_path,
        sleep=time.sleep,
    )
    return VmwareProvider(ctx)


@pytest.fixture
def vcsim(tmp_path: Path) -> Iterator[VcsimServer]:
    """A fresh vcsim (VPX model: 1 cluster of 3 hosts, 1 standalone host, 4 unmanaged VMs)."""
    with run_vcsim(tmp_path / "vcsim") as server:
        yield server


@pytest.fixture
def provider(vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[VmwareProvider]:
    """The provider under test, talking to `vcsim`."""
    prov = make_provider(vcsim, tmp_path, monkeypatch)
    try:
        yield prov
    finally:
        prov.close()


@pytest.fixture
def vsphere(vcsim: VcsimServer) -> Iterator[Any]:
    """A separate pyVmomi session for out-of-band changes and independent checks (not the provider's)."""
    context = ssl.create_default_context(cafile=str(vcsim.ca_file))
    si = SmartConnect(host=vcsim.host, port=vcsim.port, user=vcsim.username, pwd=vcsim.password, sslContext=context)
    try:
        yield si
    finally:
        Disconnect(si)
