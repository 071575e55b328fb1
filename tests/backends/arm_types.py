"""The ARM test server's vocabulary: errors, served types, operations, faults, calls and state."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from azure.mgmt.compute import models as compute
from azure.mgmt.network import models as network

SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
RESOURCE_GROUP = "homelab"
LOCATION = "eastus"
VNET = "homelab-vnet"
SUBNET = "default"


class ArmError(Exception):
    """An ARM error answer: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass(frozen=True)
class TypeSpec:
    """A resource type the server serves: its ARM type name and the SDK models its bodies must fit."""

    arm_type: str
    model: type
    update_model: type | None = None


TYPES: dict[str, TypeSpec] = {
    "microsoft.compute/virtualmachines": TypeSpec(
        "Microsoft.Compute/virtualMachines", compute.VirtualMachine, compute.VirtualMachineUpdate
    ),
    "microsoft.compute/disks": TypeSpec("Microsoft.Compute/disks", compute.Disk, compute.DiskUpdate),
    "microsoft.compute/virtualmachines/extensions": TypeSpec(
        "Microsoft.Compute/virtualMachines/extensions", compute.VirtualMachineExtension
    ),
    "microsoft.network/networksecuritygroups": TypeSpec(
        "Microsoft.Network/networkSecurityGroups", network.NetworkSecurityGroup
    ),
    "microsoft.network/networkinterfaces": TypeSpec("Microsoft.Network/networkInterfaces", network.NetworkInterface),
    "microsoft.network/publicipaddresses": TypeSpec("Microsoft.Network/publicIPAddresses", network.PublicIPAddress),
    "microsoft.network/virtualnetworks": TypeSpec("Microsoft.Network/virtualNetworks", network.VirtualNetwork),
}
# Types whose PUT and PATCH answer 202 Accepted (the status codes the SDK's operations accept).
ACCEPTED_WRITES = {"Microsoft.Compute/disks"}
# Template-level keys of a resource in an ARM template, not part of the resource's REST body.
TEMPLATE_KEYS = {"type", "apiVersion", "name", "dependsOn", "condition", "copy", "comments", "scope"}


@dataclass
class Operation:
    """A long-running operation: polled until done, then Succeeded or Failed."""

    id: str
    kind: str
    started: float
    polls_left: int
    error: dict[str, str] | None = None
    result: Any = None
    on_success: Any = None
    on_failure: Any = None
    done: bool = False

    def status(self, settle_seconds: float) -> str:
        """InProgress until polled enough (or old enough), then the outcome."""
        if not self.done and (self.polls_left <= 0 or time.monotonic() - self.started >= settle_seconds):
            self.done = True
            callback = self.on_success if self.error is None else self.on_failure
            if callback is not None:
                callback()
        if not self.done:
            return "InProgress"
        return "Failed" if self.error else "Succeeded"


@dataclass
class Fault:
    """An injected answer for requests matching method + path pattern, `times` times."""

    method: str
    pattern: re.Pattern[str]
    status: int
    code: str
    times: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One request the server answered."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any = None

    def is_(self, method: str, suffix: str) -> bool:
        """Whether this call was `method` on a path ending with suffix (case-insensitive)."""
        return self.method == method and self.path.lower().endswith(suffix.lower())


def lower_id(resource_id: str) -> str:
    """ARM ids compare case-insensitively: the key they are stored under."""
    return resource_id.rstrip("/").lower()


def parse_id(resource_id: str) -> tuple[str, str, str, str]:
    """(subscription, resource group, 'namespace/type[/child]', name path) of a resource id."""
    match = re.match(
        r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/([^/]+)/(.+)$", resource_id, re.IGNORECASE
    )
    if not match:
        raise ArmError(400, "InvalidResourceId", f"'{resource_id}' is not a valid resource id")
    parts = match.group(4).split("/")
    if len(parts) % 2:
        raise ArmError(400, "InvalidResourceId", f"'{resource_id}' is not a valid resource id")
    types, names = parts[0::2], parts[1::2]
    return match.group(1), match.group(2), f"{match.group(3)}/{'/'.join(types)}", "/".join(names)


class ArmState:
    """Everything the server holds, guarded by one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.resources: dict[str, dict[str, Any]] = {}
        self.extra: dict[str, dict[str, Any]] = {}  # per VM: power state, vm id
        self.operations: dict[str, Operation] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.failing_operations: list[tuple[str, re.Pattern[str], str, str, int]] = []
        self.calls: list[Call] = []
        self.schema_errors: list[str] = []




Answer = tuple[int, dict[str, str], Any]


def status_of(op: Operation, settle: float) -> dict[str, Any]:
    """An operation's status document (Azure-AsyncOperation polling)."""
    status = op.status(settle)
    body: dict[str, Any] = {"name": op.id, "status": status, "startTime": "2026-12-07T00:00:00Z"}
    if status == "Failed":
        body["error"] = op.error
    return body



def op_path(op: Operation) -> str:
    """The Location (operationResults) path of an operation."""
    return (f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Compute/locations/{LOCATION}/operationResults/"
            f"{op.id}?api-version=2024-01-01")
