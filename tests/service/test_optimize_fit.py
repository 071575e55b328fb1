"""Cheaper placements offered by the optimisation analysis fit by the planner's own rule: allocation against
capacity x ratio, never idle cores (a node whose guests are idle is not empty)."""

from __future__ import annotations

import pytest

from reconciler.models.inventory import Gpu, NodeFacts
from reconciler.models.placement import PlacementRules
from reconciler.models.resource import Requirements
from reconciler.service.optimize import fits_now

RULES = PlacementRules(cpu_allocation_ratio=4.0, memory_allocation_ratio=1.0)


def node(**facts: object) -> NodeFacts:
    base: dict[str, object] = {"name": "n1", "provider": "lab", "cpu": 4, "memory_gb": 16}
    return NodeFacts.model_validate(base | facts)


@pytest.mark.parametrize(
    ("facts", "requirements", "fits"),
    [
        ({}, {"cpu": 2, "memory_gb": 4}, True),
        # idle (no usage) but its memory is fully allocated to guests: no room
        ({"memory_allocated_gb": 14, "cpu_used": 0}, {"cpu": 2, "memory_gb": 4}, False),
        # busy right now, but allocation leaves room: usage never refuses
        ({"cpu_used": 3.9, "memory_used_gb": 15}, {"cpu": 2, "memory_gb": 4}, True),
        # vCPUs overcommitted within 4 x 4 cores
        ({"cpu_allocated": 12}, {"cpu": 4, "memory_gb": 1}, True),
        ({"cpu_allocated": 13}, {"cpu": 4, "memory_gb": 1}, False),
        # larger than the node itself
        ({}, {"cpu": 6, "memory_gb": 1}, False),
        # GPUs: free ones count
        ({"gpus": [Gpu(id="0", model="rtx4090", in_use_by="vm1")]}, {"cpu": 1, "gpu": 1}, False),
        ({"gpus": [Gpu(id="0", model="rtx4090")]}, {"cpu": 1, "gpu": 1}, True),
        ({"status": "offline"}, {"cpu": 1}, False),
    ],
)
def test_fits_by_allocation_not_usage(facts: dict[str, object], requirements: dict[str, object], fits: bool) -> None:
    assert fits_now(node(**facts), Requirements.model_validate(requirements), RULES) is fits


@pytest.mark.parametrize(("provider_type", "fits"), [("docker", True), ("kubernetes", True), ("proxmox", False),
                                                    ("vmware", False), ("sim", False)])
def test_an_unset_size_allocates_what_the_target_provider_gives(provider_type: str, fits: bool) -> None:
    """A node with every core and GiB allocated: a container without limits still fits on Docker or Kubernetes
    (it reserves nothing); a hypervisor creates the guest with 1 core / 1 GiB, which does not fit."""
    from reconciler.providers.registry import provider_class
    from reconciler.service.optimize import _unset_size

    full = node(cpu_allocated=16, memory_allocated_gb=16)
    assert _unset_size(provider_type) == provider_class(provider_type).unset_size
    assert fits_now(full, Requirements(), RULES, _unset_size(provider_type)) is fits
    assert fits_now(full, Requirements(cpu=1, memory_gb=1), RULES, _unset_size(provider_type)) is False
    assert _unset_size("not-a-provider") == (1.0, 1.0)
