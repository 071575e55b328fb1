"""Read only: EC2 instances, their EBS volumes and security groups, as ObservedResource fields."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.models.inventory import NodeFacts, ObservedResource
from reconciler.providers.aws.errors import aws_call
from reconciler.providers.aws.fields import DISK_TAG, RESERVED_TAG_PREFIXES, ROOT_DEVICE
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL

LIVE_STATES = ["pending", "running", "stopping", "stopped"]
# Transitional states are reported as the state they are heading to, so a fresh create is no drift.
_STATE = {"pending": "running", "running": "running", "stopping": "stopped", "stopped": "stopped"}


def tag_dict(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    """EC2's [{Key, Value}] tag list as a dict."""
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


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


def ingress_rules(group: dict[str, Any]) -> list[str]:
    """A security group's single-port ingress rules as sorted 'proto:port' strings."""
    rules = set()
    for perm in group.get("IpPermissions", []):
        proto, low, high = perm.get("IpProtocol"), perm.get("FromPort"), perm.get("ToPort")
        if proto in ("tcp", "udp") and low is not None and low == high:
            rules.add(f"{proto}:{low}")
    return sorted(rules)


def instance_fields(
    instance: dict[str, Any],
    region: str,
    volumes: dict[str, dict[str, Any]],
    groups: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """One instance in the vocabulary of fields.desired_fields()."""
    tags = tag_dict(instance.get("Tags"))
    root = instance.get("RootDeviceName")
    observed_volumes = []
    for mapping in instance.get("BlockDeviceMappings", []):
        ebs = mapping.get("Ebs") or {}
        volume = volumes.get(ebs.get("VolumeId", ""), {})
        device = ROOT_DEVICE if mapping.get("DeviceName") == root else mapping.get("DeviceName")
        entry: dict[str, Any] = {"device": device, "volume_id": ebs.get("VolumeId")}
        if volume:
            entry["size_gb"] = volume.get("Size")
            entry["type"] = volume.get("VolumeType")
            disk = tag_dict(volume.get("Tags")).get(DISK_TAG)
            if disk:
                entry["name"] = disk
        observed_volumes.append(entry)
    ingress: set[str] = set()
    for ref in instance.get("SecurityGroups", []):
        group = groups.get(ref.get("GroupId", ""))
        if group is not None:
            ingress.update(ingress_rules(group))
    fields: dict[str, Any] = {
        "region": region,
        "instance_type": instance.get("InstanceType"),
        "ami": instance.get("ImageId"),
        "state": _STATE.get(instance.get("State", {}).get("Name", ""), "unknown"),
        "tags": {
            key: value
            for key, value in sorted(tags.items())
            if key != "Name" and not key.startswith(RESERVED_TAG_PREFIXES)
        },
        "volumes": sorted(observed_volumes, key=lambda v: (v["device"] != ROOT_DEVICE, str(v["device"]))),
        "ingress": sorted(ingress),
    }
    if instance.get("SubnetId"):
        fields["subnet_id"] = instance["SubnetId"]
    return fields


def observed_instance(
    instance: dict[str, Any],
    region: str,
    provider: str,
    lab: str,
    volumes: dict[str, dict[str, Any]],
    groups: dict[str, dict[str, Any]],
) -> ObservedResource:
    """An ObservedResource for one instance; owned only when both homeport's and this lab's tags match."""
    tags = tag_dict(instance.get("Tags"))
    owned = tags.get(OWNER_LABEL) == OWNER_VALUE and tags.get(LAB_LABEL) == lab and RESOURCE_LABEL in tags
    name = tags.get(RESOURCE_LABEL) or tags.get("Name") or instance["InstanceId"]
    fields = instance_fields(instance, region, volumes, groups)
    return ObservedResource(
        name=name,
        provider=provider,
        kind="instance",
        id=instance["InstanceId"],
        node=region,
        owned=owned,
        lab=tags.get(LAB_LABEL),
        status=str(fields["state"]),
        fields=fields,
    )


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
