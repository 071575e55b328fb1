"""Reading recorded property-collector output (cases/) back into what observe parses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyVmomi import SoapAdapter, vmodl

from reconciler.providers.vmware.observe import change_marker, parse_objects, with_devices
from reconciler.providers.vmware.provider import inventory_from_snapshot

CASES = Path(__file__).parent / "cases"


def _objects(path: Path) -> list[tuple[Any, dict[str, Any]]]:
    result = SoapAdapter.Deserialize(path.read_bytes(), vmodl.query.PropertyCollector.RetrieveResult)
    return [(o.obj, {p.name: p.val for p in o.propSet}) for o in result.objects]


def load_case(name: str) -> tuple[list[tuple[Any, dict[str, Any]]], dict[str, list[Any]], dict[str, str]]:
    """(cheap retrieval, device lists by VM id, change markers by VM id) of a recorded case."""
    objects = _objects(CASES / f"{name}.retrieve.xml")
    device_objects = _objects(CASES / f"{name}.devices.xml")
    devices = {str(obj._moId): list(props.get("config.hardware.device") or []) for obj, props in device_objects}
    markers = {str(obj._moId): change_marker(props) for obj, props in device_objects}
    return objects, devices, markers


def expected_inventory(
    objects: list[tuple[Any, dict[str, Any]]], devices: dict[str, list[Any]], markers: dict[str, str]
) -> dict[str, Any]:
    """The inventory parsed from a case, as plain JSON (nodes and resources, times left out)."""
    inventory = inventory_from_snapshot(parse_objects(with_devices(objects, devices)), "home", "vsphere")
    data = inventory.model_dump(mode="json", exclude={"observed_at", "api_calls"})
    for item in data["resources"]:
        for nic in item["fields"]["nics"]:
            nic.pop("mac")  # random per vcsim run
    return data
