"""Bad values are refused before rendering, with a message naming the resource, the field and the chart."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.render.chart import ChartLibrary
from reconciler.render.engine import render_chart
from reconciler.render.errors import RenderError


def variant(state: DesiredState, example: str, **changes: Any) -> EffectiveResource:
    """A copy of an example resource with some fields changed (`a__b` sets field b of a)."""
    resource = state.effective[example].model_copy(deep=True)
    for path, value in changes.items():
        target: Any = resource
        parts = path.split("__")
        for part in parts[:-1]:
            target = getattr(target, part) if not isinstance(target, dict) else target[part]
        if isinstance(target, dict):
            target[parts[-1]] = value
        else:
            setattr(target, parts[-1], value)
    return resource


# (resource, changes, chart, field named in the error, words of the error)
CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # A GPU where the chart cannot give one.
    ("dns-cache", {"requirements__gpu": True}, "proxmox-lxc", "resource.requirements.gpu", "use a VM"),
    ("legacy-app", {"requirements__gpu": 2}, "vsphere-vm", "resource.requirements.gpu", "no GPUs"),
    # A size with a unit the target does not know.
    ("nextcloud", {"overrides": {"shm_size": "1x"}}, "docker-compose", "values.shm_size", "1x"),
    ("webapp", {"overrides": {"ephemeral_storage": "10GB"}}, "kubernetes-workload", "values.ephemeral_storage",
     "10GB"),
    # Names the target forbids.
    ("webapp", {"name": "1webapp"}, "kubernetes-workload", "resource.name", "must start with a letter"),
    ("media-lxc", {"name": "9media"}, "lxd-instance", "resource.name", "must not start with a digit"),
    ("azure-web", {"overrides": {"os_type": "windows"}, "name": "azure-web-frontend"}, "azure-vm", "resource.name",
     "15 characters"),
    ("azure-web", {"overrides": {"admin_username": "admin"}}, "azure-vm", "values.admin_username", "reserved"),
    # Values of the wrong shape.
    ("burst-inference", {"overrides": {"ami": "ubuntu-22.04"}}, "aws-ec2", "values.ami", "ubuntu-22.04"),
    ("ollama-server", {"overrides": {"tags": ["Bad Tag"]}}, "proxmox-compute", "values.tags.0", "Bad Tag"),
    ("nextcloud", {"service__image": None}, "docker-compose", "resource.service.image", "None"),
]


@pytest.mark.parametrize(("resource", "changes", "chart", "field", "words"), CASES,
                         ids=[f"{c[2]}:{c[3]}" for c in CASES])
def test_bad_value_is_refused_before_rendering(resource: str, changes: dict[str, Any], chart: str, field: str,
                                               words: str, example_state: DesiredState,
                                               library: ChartLibrary) -> None:
    bad = variant(example_state, resource, **changes)
    with pytest.raises(RenderError) as caught:
        render_chart(library.get(chart), bad)
    error = caught.value
    assert error.field == field
    assert error.chart == chart
    assert error.resource == bad.name
    text = str(error)
    assert f"resource {bad.name}" in text and f"chart {chart}" in text and field in text and words in text, text


def test_no_instance_type_fits_names_the_override(example_state: DesiredState, library: ChartLibrary) -> None:
    """A size no row of the chart's table fits fails in the template with what to set."""
    bad = variant(example_state, "burst-inference", requirements__cpu=64, requirements__memory_gb=500.0)
    with pytest.raises(RenderError) as caught:
        render_chart(library.get("aws-ec2"), bad)
    assert "overrides.aws.instance_type" in str(caught.value)
    assert "chart aws-ec2" in str(caught.value) and "burst-inference" in str(caught.value)
