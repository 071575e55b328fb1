"""Read only: EC2 instances, their EBS volumes and security groups, as ObservedResource fields."""

from __future__ import annotations

from typing import Any

from reconciler.models.inventory import NodeFacts, ObservedResource
from reconciler.providers.aws.errors import aws_call
from reconciler.providers.aws.facts import observed_instance
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL

LIVE_STATES = ["pending", "running", "stopping", "stopped"]


def owned_filters(lab: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
    """describe_* filters for objects carrying homeport's tag (optionally one lab, one resource)."""
    filters: list[dict[str, Any]] = [{"Name": f"tag:{OWNER_LABEL}", "Values": [OWNER_VALUE]}]
    if lab is not None:
        filters.append({"Name": f"tag:{LAB_LABEL}", "Values": [lab]})
    if name is not None:
        filters.append({"Name": f"tag:{RESOURCE_LABEL}", "Values": [name]})
    return filters


def list_instances(ec2: Any, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every live instance matching filters, across all pages (one DescribeInstances per page)."""
    paginator = ec2.get_paginator("describe_instances")
    pages = aws_call(
        "describe instances",
        lambda: list(
            paginator.paginate(
                Filters=[*filters, {"Name": "instance-state-name", "Values": LIVE_STATES}],
                PaginationConfig={"PageSize": 1000},
            )
        ),
    )
    return [
        inst
        for page in pages
        for reservation in page.get("Reservations", [])
        for inst in reservation.get("Instances", [])
    ]


def list_volumes(
    ec2: Any, filters: list[dict[str, Any]] | None = None, volume_ids: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """EBS volumes by id, selected by filters or ids, across all pages."""
    paginator = ec2.get_paginator("describe_volumes")
    kwargs: dict[str, Any] = {"Filters": filters} if filters else {"VolumeIds": volume_ids or []}
    pages = aws_call("describe volumes", lambda: list(paginator.paginate(**kwargs)))
    return {vol["VolumeId"]: vol for page in pages for vol in page.get("Volumes", [])}


def list_security_groups(ec2: Any, filters: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Security groups by id matching filters, across all pages."""
    paginator = ec2.get_paginator("describe_security_groups")
    pages = aws_call("describe security groups", lambda: list(paginator.paginate(Filters=filters)))
    return {sg["GroupId"]: sg for page in pages for sg in page.get("SecurityGroups", [])}


def observe_region(
    ec2: Any, region: str, provider: str, lab: str, include_unmanaged: bool = False
) -> tuple[NodeFacts, list[ObservedResource]]:
    """One region: a paginated DescribeInstances (homeport-tagged, or all), plus owned volumes and groups."""
    instances = list_instances(ec2, [] if include_unmanaged else owned_filters())
    volumes = list_volumes(ec2, filters=owned_filters(lab))
    attached = {
        m["Ebs"]["VolumeId"]
        for inst in instances
        for m in inst.get("BlockDeviceMappings", [])
        if m.get("Ebs", {}).get("VolumeId")
    }
    missing = sorted(attached - volumes.keys())
    if missing:
        # Volumes attached out of band carry no homeport tag: one more call reads their sizes.
        volumes.update(list_volumes(ec2, volume_ids=missing))
    groups = list_security_groups(ec2, owned_filters(lab))
    resources = [observed_instance(inst, region, provider, lab, volumes, groups) for inst in instances]
    node = NodeFacts(name=region, provider=provider, labels={"region": region})
    return node, resources
