"""Fixtures for the LXD provider tests: the real daemon (tests/backends/lxd.py) and a provider on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.providers.lxd import LxdProvider
from tests.backends.lxd import LxdDaemon, lxd, lxd_daemon
from tests.providers.lxd.resources import make_provider

__all__ = ["lxd", "lxd_daemon", "provider"]


@pytest.fixture
def provider(lxd: LxdDaemon, tmp_path: Path) -> Iterator[LxdProvider]:
    """The provider under test, talking to the test daemon."""
    prov = make_provider(lxd, tmp_path)
    try:
        yield prov
    finally:
        prov.close()
