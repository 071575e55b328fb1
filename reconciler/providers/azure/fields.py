"""Pure: what an Azure VM resource should look like (desired fields), names, tags and diff rules.

The vocabulary observe.py reports and the executors converge: subscription_id, resource_group,
location, vm_size, image, os_disk_gb, disks (by name), tags, power_state, ingress, public_ip,
subnet_id.
"""

from __future__ import annotations

from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.providers.azure.catalog import choose_vm_size
from reconciler.providers.azure.settings import EXECUTORS, AzureSettings, resource_settings
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL
from reconciler.providers.errors import PermanentProviderError

DISK_TAG = "homeport.disk"
RESERVED_TAG_PREFIXES = ("homeport.", "microsoft", "azure", "windows")
DEFAULT_IMAGE = {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2", "version": "latest"}
MAX_DATA_DISKS = 64

DIFF_RULES = DiffRules(
    keyed_lists={"disks": "name"},
    replace_fields=["subscription_id", "resource_group", "location", "image", "subnet_id"],
    grow_only_fields=["disks.size_gb", "os_disk_gb"],
    low_risk_fields=["tags", "tags.*"],
    set_fields=["ingress", "tags"],
    restart_fields=["vm_size", "os_disk_gb"],
)


def nic_name(name: str) -> str:
    """The network interface homeport creates for a VM (the azure-vm chart's name too)."""
    return f"{name}-nic"


def nsg_name(name: str) -> str:
    """The network security group homeport creates for a VM."""
    return f"{name}-nsg"


def public_ip_name(name: str) -> str:
    """The public IP address homeport creates for a VM that asks for one."""
    return f"{name}-ip"


def os_disk_name(name: str) -> str:
    """The VM's OS disk."""
    return f"{name}-osdisk"


def data_disk_name(name: str, disk: str) -> str:
    """A data disk of a VM (the azure-vm chart's name too)."""
    return f"{name}-{disk}"


def ownership_tags(lab: str, name: str) -> dict[str, str]:
    """The tags that mark an Azure resource as this lab's resource `name`."""
    return {OWNER_LABEL: OWNER_VALUE, LAB_LABEL: lab, RESOURCE_LABEL: name}


def user_tags(resource: EffectiveResource) -> dict[str, str]:
    """The resource's own labels as Azure tags (ownership tags are added separately)."""
    return {key: str(value) for key, value in sorted(resource.labels.items())
            if not key.lower().startswith(RESERVED_TAG_PREFIXES)}


def azure_settings(resource: EffectiveResource) -> dict[str, Any]:
    """Pool properties and template variables, then `overrides.azure`."""
    return resource_settings(resource.properties, resource.overrides)


def executor_for(resource: EffectiveResource | None, settings: AzureSettings) -> str:
    """`api` (default) or `arm`, per resource (overrides/properties) or per provider."""
    chosen = (azure_settings(resource).get("executor") if resource else None) or settings.executor
    if chosen not in EXECUTORS:
        raise PermanentProviderError(f"azure executor {chosen!r} is unknown: use one of {', '.join(EXECUTORS)}")
    return str(chosen)


def _whole_gib(size: float) -> int:
    # Managed disk sizes are whole GiB; round up so a disk is never smaller than asked.
    whole = int(size)
    return whole if whole == size else whole + 1


def _image(value: Any, name: str) -> str:
    if isinstance(value, str) and value.count(":") == 3:
        return value
    if isinstance(value, dict) and all(value.get(k) for k in ("publisher", "offer", "sku")):
        return ":".join(str(value.get(k) or "latest") for k in ("publisher", "offer", "sku", "version"))
    raise PermanentProviderError(
        f"{name}: image must be publisher:offer:sku:version or {{publisher, offer, sku, version}}, not {value!r}"
    )


def image_reference(image: str) -> dict[str, str]:
    """'publisher:offer:sku:version' as an ARM imageReference."""
    publisher, offer, sku, version = image.split(":")
    return {"publisher": publisher, "offer": offer, "sku": sku, "version": version}


def placement(resource: EffectiveResource, settings: AzureSettings) -> tuple[str, str, str]:
    """(subscription, resource group, location) of a resource: pool/overrides first, then the provider's."""
    chosen = azure_settings(resource)
    subscription = chosen.get("subscription_id") or settings.subscription_id
    group = chosen.get("resource_group") or settings.resource_group
    location = chosen.get("location") or settings.location
    missing = [label for label, value in (("subscription_id", subscription), ("resource_group", group),
                                          ("location", location)) if not value]
    if missing:
        raise PermanentProviderError(
            f"{resource.name}: no Azure {', '.join(missing)}: set them on the azure provider in homeport.yaml "
            "(options.subscription_id_env, options.resource_group, region) or in the pool's properties"
        )
    return str(subscription), str(group), str(location)


def desired_fields(resource: EffectiveResource, settings: AzureSettings) -> dict[str, Any]:
    """Pure: the fields observe() reports for this resource once it is applied."""
    chosen = azure_settings(resource)
    subscription, group, location = placement(resource, settings)
    subnet = chosen.get("vnet_subnet_id") or chosen.get("subnet_id")
    if not subnet:
        raise PermanentProviderError(
            f"{resource.name}: no subnet: set vnet_subnet_id (a subnet's resource id) in the pool's properties "
            "or the resource's overrides.azure"
        )
    size = chosen.get("vm_size")
    if not size:
        try:
            size = choose_vm_size(resource.requirements, location)
        except ValueError as exc:
            raise PermanentProviderError(f"{resource.name}: {exc}") from exc
    disks = resource.requirements.disks
    if len(disks) > MAX_DATA_DISKS:
        raise PermanentProviderError(f"{resource.name}: at most {MAX_DATA_DISKS} data disks fit an Azure VM")
    fields: dict[str, Any] = {
        "subscription_id": subscription,
        # ARM names and ids are case-insensitive (and Azure may upper-case them): compared lower-cased.
        "resource_group": group.lower(),
        "location": location,
        "vm_size": str(size),
        "image": _image(chosen.get("image") or DEFAULT_IMAGE, resource.name),
        "disks": [{"name": d.name, "size_gb": _whole_gib(float(d.size))} for d in disks],
        "tags": user_tags(resource),
        "power_state": "running",
        "ingress": sorted({f"{p.protocol}:{p.port}" for p in resource.service.ports}),
        "public_ip": bool(chosen.get("public_ip", False)),
        "subnet_id": str(subnet).lower(),
    }
    if resource.requirements.storage_gb is not None:
        fields["os_disk_gb"] = _whole_gib(float(resource.requirements.storage_gb))
    if not settings.options.observe_power_state:
        del fields["power_state"]  # not observed, so never compared (a stopped VM is not started)
    return fields
