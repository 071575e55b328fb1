"""Cost facts: cloud prices from the AWS catalog (cited, dated); on-premise power from the lab's settings."""

from __future__ import annotations

from typing import Any

from reconciler.models.desired import DesiredState
from reconciler.models.resource import Requirements
from reconciler.service.prices import cloud_estimate

__all__ = ["aws_estimate", "cloud_estimate", "lab_cost_notes"]


def lab_cost_notes(state: DesiredState) -> dict[str, Any]:
    """What the project knows about this lab's costs, and what it cannot know."""
    spec = state.lab.spec
    notes: dict[str, Any] = {"currency": spec.currency}
    if spec.electricity_cost_per_kwh is not None:
        notes["electricity_cost_per_kwh"] = {"value": spec.electricity_cost_per_kwh,
                                             "source": "homeport.yaml spec.electricity_cost_per_kwh (lab setting)"}
        notes["on_premise"] = ("power draw of the nodes is not measured by homeport, so on-premise running cost "
                               "is unknown; multiply a node's measured watts x 24 x 30 / 1000 by the kWh price")
    else:
        notes["on_premise"] = "unknown: set spec.electricity_cost_per_kwh in homeport.yaml to price power"
    notes["cloud"] = ("per-instance prices from the AWS catalog with source and date; "
                      "see find-best-provider-for-workload")
    return notes


def aws_estimate(requirements: Requirements, region: str) -> dict[str, Any]:
    """The instance type homeport would pick and its monthly on-demand price (or why it is unknown)."""
    return cloud_estimate("aws", requirements, region)
