"""Pure: EC2's answers (DescribeInstances, DescribeVolumes, DescribeSecurityGroups) as observed resources, in the
vocabulary of fields.desired_fields(); table-tested from recorded answers (tests/providers/aws/cases/)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.models.inventory import ObservedResource
from reconciler.providers.aws.fields import DISK_TAG, RESERVED_TAG_PREFIXES, ROOT_DEVICE
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL

# Transitional states are reported as the state they are heading to, so a fresh create is no drift.
_STATE = {"pending": "running", "running": "running", "stopping": "stopped", "stopped": "stopped"}


def tag_dict(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    """EC2's [{Key, Value}] tag list as a dict."""
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


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
