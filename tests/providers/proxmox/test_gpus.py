"""GPUs: parsing PCI listings and resource mappings (PVE's own answer shapes), passthrough on apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.models.plan import Change, Op
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.proxmox import ProxmoxProvider
from reconciler.providers.proxmox.gpus import gpus_from_pci, mappings_by_node, node_gpus
from reconciler.providers.proxmox.preflight import check_gpus
from tests.backends.pve import PveBackend
from tests.providers.proxmox.resources import change, resource

CASE = json.loads((Path(__file__).parent / "cases" / "pci_gpu_node.json").read_text())


def test_display_controllers_only_one_per_card() -> None:
    gpus = gpus_from_pci(CASE["devices"])
    assert [(g.id, g.vendor, g.model) for g in gpus] == [
        ("00:02.0", "Intel Corporation", "AlderLake-S GT1"),
        ("01:00.0", "NVIDIA Corporation", "GA102 [GeForce RTX 3090]"),
    ]


def test_mappings_by_node_and_use() -> None:
    mapped = mappings_by_node(CASE["mappings"])
    assert mapped == {"pve1": {"01:00.0": "rtx3090", "00:02.0": "igpu"}, "pve2": {"00:02.0": "igpu"}}
    gpus = node_gpus(CASE["devices"], mapped["pve1"], {"rtx3090": "ollama"})
    assert [(g.id, g.mapping, g.in_use_by) for g in gpus] == [
        ("00:02.0", "igpu", None),
        ("01:00.0", "rtx3090", "ollama"),
    ]


def test_mapping_needs_mapping_use() -> None:
    ch = change_for_gpu("rtx3090")
    assert check_gpus([ch], True, "homeport@pve!ci", {"/mapping/pci/rtx3090": {"Mapping.Use": 1}}) == []
    [problem] = check_gpus([ch], True, "homeport@pve!ci", {"/vms": {"VM.Allocate": 1}})
    assert "lacks Mapping.Use on /mapping/pci/rtx3090" in problem


def change_for_gpu(gpu: str) -> Change:
    """A create change asking for one GPU."""
    return Change(
        op=Op.create,
        resource="ollama",
        provider="pve",
        provider_type="proxmox",
        reason="t",
        desired={"gpu": gpu, "gpu_count": 1},
    )


def test_pinned_mapping_is_passed_through(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("ollama", gpu=True, overrides={"gpu": "rtx3090", "cpu_type": "host"})
    provider.apply(change(provider, res), res, None)
    assert pve.guest("ollama").config["hostpci0"] == "mapping=rtx3090,pcie=1"
    observed = provider.observe().owned("home")["ollama"].fields
    assert (observed["gpu"], observed["gpu_count"]) == ("rtx3090", 1)


def test_unpinned_gpu_without_a_free_one_on_the_node_is_permanent(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("ollama", gpu=True)
    with pytest.raises(PermanentProviderError, match="asks for a GPU but node pve1 has no free one"):
        provider.apply(change(provider, res), res, None)
    assert pve.guest("ollama") is None
