"""Fixtures for the Proxmox provider tests: a seeded fakepve (tests/backends/pve.py) and a provider on it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.providers.base import ProviderContext
from reconciler.providers.proxmox import ProxmoxProvider
from reconciler.store.database import open_database
from reconciler.store.provider_state import DbProviderState
from tests.backends.pve import PveBackend

LAB = "home"


def make_provider(backend: PveBackend, tmp_path: Path, **options: object) -> ProxmoxProvider:
    """A ProxmoxProvider for lab `home` on the fake, with its state in a SQLite database under tmp_path."""
    db = open_database(f"sqlite:///{tmp_path / 'homeport.db'}")
    ctx = ProviderContext(
        lab=LAB,
        name="pve",
        config=ProviderConfig.model_validate(backend.provider_config(**options)),
        state=DbProviderState(db, LAB, "pve"),
        work_dir=tmp_path,
        sleep=time.sleep,
    )
    return ProxmoxProvider(ctx)


@pytest.fixture
def provider(pve: PveBackend, tmp_path: Path) -> Iterator[ProxmoxProvider]:
    """The provider under test, talking to the `pve` fake."""
    prov = make_provider(pve, tmp_path)
    try:
        yield prov
    finally:
        prov.close()
