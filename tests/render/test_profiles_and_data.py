"""Workload profiles (cited sizing defaults, the lowest requirements layer) and the validators' data copies."""

from __future__ import annotations

from pathlib import Path

from azure.mgmt.compute.models import VirtualMachineSizeTypes

from reconciler.models.desired import DesiredState
from reconciler.models.profiles import SIZED_FIELDS, load_profiles, profile_for, profile_requirements
from reconciler.render.validators.arm_format import SIZES_FILE
from tests.render.lab import EXAMPLE_LAB, load_lab

SEED_WORKLOADS = ["llm-inference", "ai-inference", "web-app", "ci-server", "database", "nextcloud", "media-server",
                  "dns", "general"]


def test_every_seed_workload_type_has_a_profile() -> None:
    missing = [w for w in SEED_WORKLOADS if profile_for(w) is None]
    assert missing == []
    assert profile_for("ai-inference") == profile_for("llm-inference")
    assert profile_for("no-such-workload") is None
    assert profile_requirements("general") == {}


def test_every_number_cites_a_known_source() -> None:
    table = load_profiles()
    for profile in table.profiles.values():
        for field in SIZED_FIELDS:
            item = getattr(profile, field)
            if item is not None:
                source = table.sources[item.source]
                assert source.url.startswith("https://") and source.quote, (profile.name, field)


def test_profile_is_the_lowest_layer(tmp_path: Path, example_state: DesiredState) -> None:
    """A resource that states nothing gets the profile; a template or the resource itself wins over it."""
    assert example_state.effective["ollama-server"].requirements.memory_gb == 8.0  # the resource's own 8
    assert example_state.effective["gpu-worker"].requirements.memory_gb == 24.0  # resource over template (16)
    assert example_state.effective["ci-runner"].requirements.storage_gb == 100.0  # template over profile (50)
    lab = tmp_path / "lab"
    lab.mkdir()
    for item in EXAMPLE_LAB.iterdir():
        if item.name != "resources":
            (lab / item.name).symlink_to(item)
    (lab / "resources").mkdir()
    (lab / "resources" / "bare.yaml").write_text(
        "apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {name: bare}\n"
        "spec: {workload_type: ci-server, pool: /infrastructure/on-premise/sim/compute}\n", encoding="utf-8")
    bare = load_lab(lab).effective["bare"].requirements
    assert (bare.cpu, bare.memory_gb, bare.storage_gb) == (None, 4.0, 50.0)


def test_azure_vm_size_copy_matches_the_sdk() -> None:
    """The ARM validator's copy of VirtualMachineSizeTypes (scripts/update-azure-vm-sizes.py) is current."""
    lines = SIZES_FILE.read_text(encoding="utf-8").splitlines()
    copy = {line for line in lines if line and not line.startswith("#")}
    assert copy == {size.value for size in VirtualMachineSizeTypes}, "run scripts/update-azure-vm-sizes.py"
