"""Pure: what an EC2 resource should look like (desired fields), tags, identity and diff rules."""

from __future__ import annotations

import hashlib
import string
from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.lab import ProviderConfig
from reconciler.providers.aws.catalog import choose_instance_type
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL
from reconciler.providers.errors import PermanentProviderError

DISK_TAG = "homeport.disk"
ROOT_DEVICE = "root"
# Extra EBS volumes get /dev/sdf, /dev/sdg, ... in the order the definition lists them (AWS
# recommends f-p for EBS data volumes on HVM instances).
DATA_DEVICES = [f"/dev/sd{letter}" for letter in string.ascii_lowercase[5:16]]
EXECUTORS = ("api", "cloudformation")
RESERVED_TAG_PREFIXES = ("homeport.", "aws:")

DIFF_RULES = DiffRules(
    keyed_lists={"volumes": "device"},
    replace_fields=["ami", "region", "subnet_id"],
    grow_only_fields=["volumes.size_gb"],
    low_risk_fields=["tags", "tags.*"],
    set_fields=["ingress"],
    # EC2 changes the type of a stopped instance only: apply stops, modifies and starts it.
    restart_fields=["instance_type"],
)


def aws_settings(resource: EffectiveResource) -> dict[str, Any]:
    """Pool properties and template variables, then `overrides.aws` on top (later wins)."""
    settings = {key: value for key, value in resource.properties.items() if value is not None}
    settings.update({key: value for key, value in resource.overrides.items() if value is not None})
    return settings


def resource_region(resource: EffectiveResource, config: ProviderConfig) -> str:
    """The region a resource lives in: overrides/pool `region`, else the provider's region."""
    region = aws_settings(resource).get("region") or config.region
    if not region:
        raise PermanentProviderError(
            f"{resource.name}: no AWS region: set `region:` on the aws provider in homeport.yaml "
            "or in the pool's properties"
        )
    return str(region)


def executor_for(resource: EffectiveResource | None, config: ProviderConfig) -> str:
    """`api` (default) or `cloudformation`, per resource (overrides/properties) or per lab."""
    chosen = (aws_settings(resource).get("executor") if resource else None) or config.executor or "api"
    if chosen not in EXECUTORS:
        raise PermanentProviderError(f"aws executor {chosen!r} is unknown: use one of {', '.join(EXECUTORS)}")
    return str(chosen)


def user_tags(resource: EffectiveResource) -> dict[str, str]:
    """The resource's own labels as EC2 tags (homeport's ownership tags are added separately)."""
    return {
        key: str(value) for key, value in sorted(resource.labels.items()) if not key.startswith(RESERVED_TAG_PREFIXES)
    }


def ownership_tags(lab: str, name: str) -> dict[str, str]:
    """The tags that mark an EC2 object as this lab's resource `name`."""
    return {OWNER_LABEL: OWNER_VALUE, LAB_LABEL: lab, RESOURCE_LABEL: name, "Name": name}


def desired_volumes(resource: EffectiveResource, volume_type: str) -> list[dict[str, Any]]:
    """EBS volumes keyed by device: the root ('root') when a size is set, then each extra disk."""
    volumes: list[dict[str, Any]] = []
    storage = resource.requirements.storage_gb
    if storage is not None:
        volumes.append({"device": ROOT_DEVICE, "size_gb": _whole_gib(float(storage)), "type": volume_type})
    disks = resource.requirements.disks
    if len(disks) > len(DATA_DEVICES):
        raise PermanentProviderError(
            f"{resource.name}: at most {len(DATA_DEVICES)} extra disks fit devices /dev/sdf-/dev/sdp"
        )
    for device, disk in zip(DATA_DEVICES, disks, strict=False):
        # The model's validator has already turned every size into GiB.
        volumes.append(
            {
                "device": device,
                "name": disk.name,
                "size_gb": _whole_gib(float(disk.size)),
                "type": volume_type,
            }
        )
    return volumes


def _whole_gib(size: float) -> int:
    # EBS sizes are whole GiB; round up so a volume is never smaller than asked.
    whole = int(size)
    return whole if whole == size else whole + 1


def desired_ingress(resource: EffectiveResource) -> list[str]:
    """Security group rules as sorted 'proto:port' strings from the service's ports."""
    return sorted({f"{port.protocol}:{port.port}" for port in resource.service.ports})


def desired_fields(resource: EffectiveResource, config: ProviderConfig) -> dict[str, Any]:
    """Pure: the fields observe() reports for this resource once it is applied."""
    settings = aws_settings(resource)
    region = resource_region(resource, config)
    ami = settings.get("ami") or settings.get("image_id")
    if not ami:
        raise PermanentProviderError(
            f"{resource.name}: no AMI: set overrides.aws.ami in the resource, or `ami` in the pool's "
            "properties or the template's variables (an AMI id such as ami-0abc... for region " + region + ")"
        )
    instance_type = settings.get("instance_type")
    if not instance_type:
        try:
            instance_type = choose_instance_type(resource.requirements, region)
        except ValueError as exc:
            raise PermanentProviderError(f"{resource.name}: {exc}") from exc
    fields: dict[str, Any] = {
        "region": region,
        "instance_type": str(instance_type),
        "ami": str(ami),
        "state": "running",
        "tags": user_tags(resource),
        "volumes": desired_volumes(resource, str(settings.get("volume_type", "gp3"))),
        "ingress": desired_ingress(resource),
    }
    if settings.get("subnet_id"):
        fields["subnet_id"] = str(settings["subnet_id"])
    return fields


def client_token(lab: str, name: str, region: str, ami: str, generation: int) -> str:
    """The run_instances ClientToken: the same resource identity always gives the same token (≤ 64 chars).

    The generation is bumped after a delete, so a recreated resource is not answered with the
    terminated instance the old token still points at.
    """
    digest = hashlib.sha256(f"{lab}\0{name}\0{region}\0{ami}\0{generation}".encode()).hexdigest()
    return f"homeport-{digest[:40]}"


def stack_name(lab: str, name: str) -> str:
    """The CloudFormation stack of a resource (letters, digits and '-', ≤ 128)."""
    return f"homeport-{lab}-{name}"[:128]


def security_group_name(lab: str, name: str) -> str:
    """The security group homeport creates for a resource."""
    return f"homeport-{lab}-{name}"
