"""An Azure Resource Manager test server: the Compute, Network and Resources routes homeport uses.

No Azure emulator exists for ARM (checked), so the tests run the real azure-mgmt-* clients against
this server on 127.0.0.1. It is a test double, held to Azure's published schema: every request body
is checked against the SDK's own generated models (tests/backends/arm_models.py), so a wrong field
name, a read-only field, a missing required field or a wrong JSON type is HTTP 400, as ARM answers.

Behaviour follows Azure's documented REST semantics:
- PUT answers 201 (created) or 200 (updated) with `Azure-AsyncOperation`; POST actions and DELETE
  answer 202 with `Azure-AsyncOperation`, `Location` and `Retry-After`; an operation's status is
  InProgress for `lro_polls` polls (or `settle_seconds`), then Succeeded or Failed.
- DELETE of a missing resource is 204; deleting a NIC, NSG, public IP or disk still in use is refused.
- A VM's size cannot change while it runs here (409 OperationNotAllowed): stricter than Azure, which
  resizes in place when the host cluster has the size, so a client that does not deallocate first fails.
- Changing a VM's image or admin user is 409 PropertyChangeNotAllowed; shrinking a disk is 400.
- `list_all` pages by `page_size` with `nextLink`; `statusOnly=true` adds each VM's instance view.
- Deployments evaluate the template (tests/backends/arm_expressions.py) and PUT each resource through
  the same checked routes, incremental mode only; what-if compares the template with what exists.

Faults are injected per route: `throttle()` answers 429 with Retry-After, `fail_next()` any status,
`fail_operation()` makes the next matching long-running operation end Failed. Every request is logged
in `calls` (method, path, query, status) so tests assert order, e.g. deallocate before resize.
Served over HTTP/1.1 with Nagle off (keep-alive on the stdlib server otherwise costs ~45 ms a call).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.mgmt.compute import models as compute
from azure.mgmt.network import models as network
from azure.mgmt.resource.deployments import models as deployments

from tests.backends.arm_expressions import TemplateError, TemplateScope, bind_parameters, evaluate
from tests.backends.arm_models import check_body

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


def _lower_id(resource_id: str) -> str:
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


class ArmServer:
    """A running ARM test server on 127.0.0.1 (one per test: state is not shared)."""

    def __init__(self, *, lro_polls: int = 1, settle_seconds: float = 2.0, retry_after: int = 0,
                 page_size: int = 100) -> None:
        self.state = ArmState()
        self.lro_polls = lro_polls
        self.settle_seconds = settle_seconds
        self.retry_after = retry_after
        self.page_size = page_size
        handler = type("Handler", (_Handler,), {"arm": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="arm-test-server", daemon=True)
        self.thread.start()
        self.add_resource_group(RESOURCE_GROUP, LOCATION)
        self.seed_subnet(RESOURCE_GROUP, VNET, SUBNET)

    @property
    def base_url(self) -> str:
        """The endpoint clients use as base_url."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def subnet_id(self) -> str:
        """The seeded subnet's resource id."""
        return (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Network/"
            f"virtualNetworks/{VNET}/subnets/{SUBNET}"
        )

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- setup and faults ------------------------------------------------------------------
    def add_resource_group(self, name: str, location: str, subscription: str = SUBSCRIPTION) -> None:
        """A resource group that exists from the start."""
        rid = f"/subscriptions/{subscription}/resourceGroups/{name}"
        self.state.groups[_lower_id(rid)] = {
            "id": rid, "name": name, "type": "Microsoft.Resources/resourceGroups", "location": location,
            "properties": {"provisioningState": "Succeeded"},
        }

    def seed_subnet(self, group: str, vnet: str, subnet: str) -> None:
        """A virtual network with one subnet (homeport never creates networks, it joins them)."""
        vid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"
        self.state.resources[_lower_id(vid)] = {
            "id": vid, "name": vnet, "type": "Microsoft.Network/virtualNetworks", "location": LOCATION,
            "properties": {"provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": ["10.20.0.0/16"]},
                           "subnets": [{"id": f"{vid}/subnets/{subnet}", "name": subnet,
                                        "properties": {"addressPrefix": "10.20.0.0/24"}}]},
        }

    def throttle(self, method: str, pattern: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` matching requests with 429 TooManyRequests and Retry-After."""
        self.fail_next(method, pattern, 429, "TooManyRequests", times, {"Retry-After": str(retry_after)})

    def fail_next(self, method: str, pattern: str, status: int, code: str, times: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` requests matching method and regex pattern with an error."""
        with self.state.lock:
            self.state.faults.append(Fault(method, re.compile(pattern, re.IGNORECASE), status, code, times,
                                           headers or {}))

    def fail_operation(self, method: str, pattern: str, code: str = "InternalExecutionError",
                       message: str = "An internal execution error occurred. Please retry later.",
                       times: int = 1) -> None:
        """Make the long-running operation of the next `times` matching requests end Failed."""
        with self.state.lock:
            self.state.failing_operations.append((method, re.compile(pattern, re.IGNORECASE), code, message, times))

    # -- queries for tests -----------------------------------------------------------------
    def vms(self) -> dict[str, dict[str, Any]]:
        """Every VM as a GET would show it, by name."""
        with self.state.lock:
            return {r["name"]: self.render(r) for r in self.state.resources.values()
                    if r["type"] == "Microsoft.Compute/virtualMachines"}

    def of_type(self, arm_type: str) -> dict[str, dict[str, Any]]:
        """Stored resources of one ARM type, by name."""
        with self.state.lock:
            return {r["name"]: copy.deepcopy(r) for r in self.state.resources.values()
                    if r["type"].lower() == arm_type.lower()}

    def power(self, name: str) -> str:
        """A VM's power state (running, deallocated, stopped)."""
        with self.state.lock:
            for key, extra in self.state.extra.items():
                if key.endswith(f"/virtualmachines/{name.lower()}"):
                    return str(extra["power"])
        raise KeyError(name)

    def calls_since(self, start: int) -> list[Call]:
        """Requests answered since index start."""
        with self.state.lock:
            return list(self.state.calls[start:])

    def out_of_band_resize(self, name: str, size: str) -> None:
        """Someone resizes a VM by hand (deallocate, resize, start), outside homeport."""
        with self.state.lock:
            vm = self._find_vm(name)
            vm["properties"]["hardwareProfile"]["vmSize"] = size

    def out_of_band_vm(self, name: str, tags: dict[str, str], group: str = RESOURCE_GROUP) -> str:
        """A VM created by someone else (not through homeport's client); returns its id."""
        rid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}"
        with self.state.lock:
            self.state.resources[_lower_id(rid)] = {
                "id": rid, "name": name, "type": "Microsoft.Compute/virtualMachines", "location": LOCATION,
                "tags": tags, "properties": {
                    "hardwareProfile": {"vmSize": "Standard_B1ms"},
                    "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts",
                                                          "sku": "server", "version": "latest"},
                                       "osDisk": {"createOption": "FromImage", "diskSizeGB": 30}, "dataDisks": []},
                    "networkProfile": {"networkInterfaces": []}, "provisioningState": "Succeeded"}}
            self.state.extra[_lower_id(rid)] = {"power": "running", "vmId": str(uuid.uuid4())}
        return rid

    def _find_vm(self, name: str) -> dict[str, Any]:
        for r in self.state.resources.values():
            if r["type"] == "Microsoft.Compute/virtualMachines" and r["name"] == name:
                return r
        raise KeyError(name)

    # -- rendering -------------------------------------------------------------------------
    def render(self, stored: dict[str, Any], instance_view: bool = False) -> dict[str, Any]:
        """A resource as GET returns it (computed fields filled in, secrets left out)."""
        out = copy.deepcopy(stored)
        out.pop("sku", None) if stored["type"] == "Microsoft.Network/networkInterfaces" else None
        if stored["type"] == "Microsoft.Compute/virtualMachines":
            props = out["properties"]
            extra = self.state.extra.get(_lower_id(stored["id"]), {})
            props["vmId"] = extra.get("vmId", "")
            os_profile = props.get("osProfile") or {}
            os_profile.pop("customData", None)
            os_profile.pop("adminPassword", None)
            storage = props.get("storageProfile") or {}
            for disk in [storage.get("osDisk") or {}, *(storage.get("dataDisks") or [])]:
                ref = (disk.get("managedDisk") or {}).get("id")
                live = self.state.resources.get(_lower_id(ref)) if ref else None
                if live is not None:
                    disk["diskSizeGB"] = live["properties"].get("diskSizeGB")
                    disk["name"] = live["name"]
            if instance_view:
                props["instanceView"] = self.instance_view(stored)
        return out

    def instance_view(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A VM's instance view: provisioning and power state statuses."""
        extra = self.state.extra.get(_lower_id(stored["id"]), {})
        state = stored["properties"].get("provisioningState", "Succeeded")
        power = extra.get("power", "running")
        return {"statuses": [
            {"code": f"ProvisioningState/{state.lower()}", "level": "Info",
             "displayStatus": f"Provisioning {state.lower()}"},
            {"code": f"PowerState/{power}", "level": "Info", "displayStatus": f"VM {power}"},
        ]}

    # -- operations ------------------------------------------------------------------------
    def start_operation(self, method: str, path: str, kind: str, on_success: Any = None,
                        result: Any = None) -> Operation:
        """A new long-running operation (failing if a fail_operation() matches)."""
        error = None
        for i, (m, pattern, code, message, times) in enumerate(self.state.failing_operations):
            if m == method and pattern.search(path) and times > 0:
                self.state.failing_operations[i] = (m, pattern, code, message, times - 1)
                error = {"code": code, "message": message}
                break
        op = Operation(id=str(uuid.uuid4()), kind=kind, started=time.monotonic(), polls_left=self.lro_polls,
                       error=error, result=result, on_success=on_success)
        self.state.operations[op.id] = op
        return op

    def operation_headers(self, op: Operation, namespace: str, location: bool = False) -> dict[str, str]:
        """Azure-AsyncOperation (and Location) headers for an operation, with Retry-After."""
        base = f"{self.base_url}/subscriptions/{SUBSCRIPTION}/providers/{namespace}/locations/{LOCATION}"
        headers = {"Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version=2024-01-01",
                   "Retry-After": str(self.retry_after)}
        if location:
            headers["Location"] = f"{base}/operationResults/{op.id}?api-version=2024-01-01"
        return headers


def _status_of(op: Operation, settle: float) -> dict[str, Any]:
    status = op.status(settle)
    body: dict[str, Any] = {"name": op.id, "status": status, "startTime": "2026-12-07T00:00:00Z"}
    if status == "Failed":
        body["error"] = op.error
    return body


class _Handler(BaseHTTPRequestHandler):
    arm: ArmServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls list is the log."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        arm = self.arm
        status, headers, body = 500, {}, None
        try:
            data = json.loads(raw) if raw else None
            with arm.state.lock:
                self._fault(method, parts.path)
                if "api-version" not in query:
                    raise ArmError(400, "MissingApiVersionParameter",
                                   "The api-version query parameter (?api-version=) is required for all requests.")
                status, headers, body = _route(arm, method, parts.path, query, data)
        except ArmError as exc:
            status, headers, body = exc.status, exc.headers, {"error": {"code": exc.code, "message": exc.message}}
            if exc.code == "InvalidRequestContent":
                arm.state.schema_errors.append(exc.message)
        except (json.JSONDecodeError, UnicodeDecodeError):
            status, body = 400, {"error": {"code": "InvalidRequestContent", "message": "The body is not JSON."}}
        except TemplateError as exc:
            status, body = 400, {"error": {"code": "InvalidTemplate", "message": str(exc)}}
        with arm.state.lock:
            arm.state.calls.append(Call(method, parts.path, query, status, data if raw else None))
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def _fault(self, method: str, path: str) -> None:
        for fault in self.arm.state.faults:
            if fault.method == method and fault.times > 0 and fault.pattern.search(path):
                fault.times -= 1
                raise ArmError(fault.status, fault.code, f"injected {fault.status} {fault.code}", fault.headers)


Answer = tuple[int, dict[str, str], Any]


def _route(arm: ArmServer, method: str, path: str, query: dict[str, str], data: Any) -> Answer:
    low = path.rstrip("/").lower()
    op = re.match(r"^/subscriptions/[^/]+/providers/([^/]+)/locations/[^/]+/(operations|operationresults)/([^/]+)$",
                  low)
    if op:
        return _poll(arm, op.group(2), op.group(3))
    group = re.match(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)$", low)
    if group:
        found = arm.state.groups.get(low)
        if method == "HEAD":
            return (204 if found else 404), {}, None
        if method == "GET" and found:
            return 200, {}, found
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{path.rsplit('/', 1)[-1]}' could not be found.")
    listing = re.match(r"^/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?/providers/([^/]+)/([^/]+)$", low)
    if listing and method == "GET" and f"{listing.group(3)}/{listing.group(4)}" in TYPES:
        return _list(arm, path, query, listing.group(1), listing.group(2), f"{listing.group(3)}/{listing.group(4)}")
    deployment = re.match(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+)/providers/microsoft\.resources/"
                          r"deployments/([^/]+)(/whatif)?$", low)
    if deployment:
        return _deployment(arm, method, path, deployment.group(2), bool(deployment.group(3)), data)
    action = re.match(r"^(/subscriptions/.+/providers/microsoft\.compute/virtualmachines/[^/]+)/"
                      r"(deallocate|start|poweroff|restart|instanceview)$", low)
    if action:
        return _vm_action(arm, method, path, action.group(1), action.group(2))
    _sub, _group, rtype, _name = parse_id(path)
    spec = TYPES.get(rtype.lower())
    if spec is None:
        raise ArmError(400, "NoRegisteredProviderFound", f"No registered resource provider found for type '{rtype}'.")
    if method == "GET":
        stored = arm.state.resources.get(low)
        if stored is None:
            raise ArmError(404, "ResourceNotFound", f"The Resource '{rtype}/{_name}' under resource group "
                                                    f"'{_group}' was not found.")
        return 200, {}, arm.render(stored, instance_view=query.get("$expand") == "instanceView")
    if method == "PUT":
        return _put(arm, path, spec, data)
    if method == "PATCH":
        return _patch(arm, path, spec, data)
    if method == "DELETE":
        return _delete(arm, path, spec)
    raise ArmError(405, "MethodNotAllowed", f"{method} is not supported on {rtype}")


def _poll(arm: ArmServer, kind: str, op_id: str) -> Answer:
    op = arm.state.operations.get(op_id)
    if op is None:
        raise ArmError(404, "OperationNotFound", f"Operation {op_id} was not found.")
    status = op.status(arm.settle_seconds)
    if kind == "operations":
        if status == "InProgress":
            op.polls_left -= 1
        headers = {"Retry-After": str(arm.retry_after)} if status == "InProgress" else {}
        return 200, headers, _status_of(op, arm.settle_seconds)
    # Location polling: 202 while running, then the result (200) or nothing (204); a failure is the error.
    if status == "InProgress":
        op.polls_left -= 1
        return 202, {"Retry-After": str(arm.retry_after), "Location": f"{arm.base_url}{_op_path(op)}"}, None
    if status == "Failed":
        raise ArmError(400, op.error["code"] if op.error else "Failed", op.error["message"] if op.error else "failed")
    return (200, {}, op.result) if op.result is not None else (204, {}, None)


def _op_path(op: Operation) -> str:
    return (f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Compute/locations/{LOCATION}/operationResults/"
            f"{op.id}?api-version=2024-01-01")


def _list(arm: ArmServer, path: str, query: dict[str, str], sub: str, group: str | None, rtype: str) -> Answer:
    prefix = f"/subscriptions/{sub}/" + (f"resourcegroups/{group}/" if group else "")
    found = sorted((r for key, r in arm.state.resources.items()
                    if key.startswith(prefix) and r["type"].lower() == rtype), key=lambda r: r["id"].lower())
    start = int(query.get("$skiptoken", "0") or 0)
    page = found[start:start + arm.page_size]
    status_only = query.get("statusOnly") == "true"
    body: dict[str, Any] = {"value": [arm.render(r, instance_view=status_only) for r in page]}
    if start + arm.page_size < len(found):
        extra = "&statusOnly=true" if status_only else ""
        body["nextLink"] = (f"{arm.base_url}{path}?api-version={query['api-version']}{extra}"
                            f"&$skiptoken={start + arm.page_size}")
    return 200, {}, body


def _check(spec: TypeSpec, data: Any, request: str, path: str) -> None:
    model = spec.model if request == "create" else (spec.update_model or spec.model)
    errors = check_body(model, data, request=request)
    if errors:
        raise ArmError(400, "InvalidRequestContent", f"{path}: " + "; ".join(errors))


def _namespace(spec: TypeSpec) -> str:
    return spec.arm_type.split("/", 1)[0]


def _put(arm: ArmServer, path: str, spec: TypeSpec, data: Any) -> Answer:
    _check(spec, data, "create", path)
    created = _store(arm, path, spec, copy.deepcopy(data))
    stored = arm.state.resources[_lower_id(path)]
    op = arm.start_operation("PUT", path, "put")
    stored["properties"]["provisioningState"] = "Creating" if created else "Updating"
    # A failed create leaves the resource behind in the Failed state, as Azure does.
    op.on_success = lambda: stored["properties"].__setitem__("provisioningState", "Succeeded")
    op.on_failure = lambda: stored["properties"].__setitem__("provisioningState", "Failed")
    if spec.arm_type in ACCEPTED_WRITES:
        # Managed disks answer 202 Accepted with Location, as azure-mgmt-compute expects ([200, 202]).
        return 202, arm.operation_headers(op, _namespace(spec), location=True), None
    return (201 if created else 200), arm.operation_headers(op, _namespace(spec)), arm.render(stored)


def _store(arm: ArmServer, path: str, spec: TypeSpec, data: dict[str, Any]) -> bool:
    """Create or update a resource from a checked PUT body; True when it was created."""
    sub, group, _rtype, name = parse_id(path)
    key = _lower_id(path)
    existing = arm.state.resources.get(key)
    if _lower_id(f"/subscriptions/{sub}/resourceGroups/{group}") not in arm.state.groups:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
    rid = f"/subscriptions/{sub}/resourceGroups/{group}/providers/{spec.arm_type.split('/')[0]}/" + "/".join(
        f"{t}/{n}" for t, n in zip(spec.arm_type.split("/")[1:], name.split("/"), strict=True))
    body: dict[str, Any] = {"id": rid, "name": name.split("/")[-1], "type": spec.arm_type,
                            "location": data.get("location", LOCATION), "tags": data.get("tags") or {},
                            "properties": data.get("properties") or {}}
    if "sku" in data:
        body["sku"] = data["sku"]
    if spec.arm_type == "Microsoft.Compute/virtualMachines":
        _store_vm(arm, body, existing)
    elif spec.arm_type == "Microsoft.Compute/disks":
        if existing is not None:
            old = existing["properties"].get("diskSizeGB") or 0
            new = body["properties"].get("diskSizeGB") or old
            if new < old:
                raise ArmError(400, "BadRequest", f"Disk size cannot be decreased from {old} GB to {new} GB.")
            body["properties"] = {**existing["properties"], **body["properties"]}
    elif spec.arm_type == "Microsoft.Network/networkInterfaces":
        _check_nic_refs(arm, body)
        if existing is not None and existing["properties"].get("virtualMachine"):
            body["properties"]["virtualMachine"] = existing["properties"]["virtualMachine"]
    elif spec.arm_type == "Microsoft.Network/publicIPAddresses":
        old = (existing or {}).get("properties", {})
        body["properties"].setdefault("ipAddress", old.get("ipAddress") or f"20.0.{len(arm.state.resources) % 250}.7")
    elif spec.arm_type == "Microsoft.Compute/virtualMachines/extensions":
        vm = _lower_id(rid.rsplit("/extensions/", 1)[0])
        if vm not in arm.state.resources:
            raise ArmError(404, "ParentResourceNotFound", f"Parent VM of extension {name} was not found.")
    arm.state.resources[key] = body
    return existing is None


def _check_nic_refs(arm: ArmServer, nic: dict[str, Any]) -> None:
    props = nic["properties"]
    nsg = (props.get("networkSecurityGroup") or {}).get("id")
    if nsg and _lower_id(nsg) not in arm.state.resources:
        raise ArmError(400, "InvalidResourceReference", f"Resource {nsg} referenced by {nic['id']} was not found.")
    configs = props.get("ipConfigurations") or []
    if not configs:
        raise ArmError(400, "NetworkInterfaceMustHaveAtLeastOneIpConfiguration", f"{nic['id']} has no ipConfigurations")
    for config in configs:
        cprops = config.get("properties") or {}
        subnet = (cprops.get("subnet") or {}).get("id", "")
        vnet = subnet.rsplit("/subnets/", 1)[0]
        stored = arm.state.resources.get(_lower_id(vnet))
        names = {s["name"].lower() for s in (stored or {}).get("properties", {}).get("subnets", [])}
        if stored is None or subnet.rsplit("/", 1)[-1].lower() not in names:
            raise ArmError(400, "InvalidResourceReference", f"Subnet {subnet} referenced by {nic['id']} was not found.")
        pip = (cprops.get("publicIPAddress") or {}).get("id")
        if pip and _lower_id(pip) not in arm.state.resources:
            raise ArmError(400, "InvalidResourceReference", f"Public IP {pip} referenced by {nic['id']} was not found.")
        cprops.setdefault("privateIPAddress", f"10.20.0.{4 + len(arm.state.resources) % 250}")


def _store_vm(arm: ArmServer, body: dict[str, Any], existing: dict[str, Any] | None) -> None:
    props = body["properties"]
    key = _lower_id(body["id"])
    power = arm.state.extra.get(key, {}).get("power", "running")
    if existing is not None:
        old = existing["properties"]
        _check_immutable(old, props)
        old_size = old.get("hardwareProfile", {}).get("vmSize")
        new_size = props.get("hardwareProfile", {}).get("vmSize")
        if new_size and old_size != new_size and power == "running":
            raise ArmError(409, "OperationNotAllowed", f"Resizing a running VM to {new_size} is not allowed on its "
                           "current hardware cluster; deallocate the VM first.")
    storage = props.setdefault("storageProfile", {})
    os_disk = storage.setdefault("osDisk", {})
    if existing is not None:
        old_os = existing["properties"]["storageProfile"]["osDisk"]
        os_disk["managedDisk"] = {**(os_disk.get("managedDisk") or {}), "id": old_os["managedDisk"]["id"]}
        os_disk.setdefault("name", old_os.get("name"))
    else:
        name = os_disk.get("name") or f"{body['name']}_OsDisk_1_{uuid.uuid4().hex[:12]}"
        disk_id = _disk(arm, body, name, int(os_disk.get("diskSizeGB") or 30),
                        (os_disk.get("managedDisk") or {}).get("storageAccountType", "Premium_LRS"))
        os_disk["name"] = name
        os_disk["managedDisk"] = {**(os_disk.get("managedDisk") or {}), "id": disk_id}
        os_disk.setdefault("osType", "Linux")
    attached = set()
    for disk in storage.get("dataDisks") or []:
        option = disk.get("createOption")
        managed = disk.setdefault("managedDisk", {})
        if option == "Empty" and not managed.get("id"):
            if not disk.get("diskSizeGB"):
                raise ArmError(400, "InvalidParameter", "Required parameter 'dataDisk.diskSizeGB' is missing (null).")
            name = disk.get("name") or f"{body['name']}_disk{disk['lun']}_{uuid.uuid4().hex[:12]}"
            found = arm.state.resources.get(_lower_id(_disk_id(body, name)))
            if found is not None and existing is None:
                raise ArmError(409, "ConflictingUserInput", f"A disk with name {name} already exists.")
            managed["id"] = found["id"] if found else _disk(arm, body, name, int(disk["diskSizeGB"]),
                                                           managed.get("storageAccountType", "Premium_LRS"))
            disk["name"] = name
        elif option == "Attach" or managed.get("id"):
            ref = managed.get("id")
            found = arm.state.resources.get(_lower_id(ref)) if ref else None
            if found is None:
                raise ArmError(404, "NotFound", f"Disk {ref} was not found.")
            owner = found["properties"].get("managedBy")
            if owner and _lower_id(owner) != key:
                raise ArmError(409, "OperationNotAllowed", f"Disk {found['name']} is attached to VM {owner}.")
            disk["name"] = found["name"]
        attached.add(_lower_id(managed["id"]))
    attached.add(_lower_id(os_disk["managedDisk"]["id"]))
    for rid, res in arm.state.resources.items():
        if res["type"] == "Microsoft.Compute/disks":
            if rid in attached:
                res["properties"]["managedBy"] = body["id"]
                res["properties"]["diskState"] = "Attached"
            elif _lower_id(res["properties"].get("managedBy") or "") == key:
                res["properties"].pop("managedBy", None)
                res["properties"]["diskState"] = "Unattached"
    nics = [_lower_id(n["id"]) for n in (props.get("networkProfile") or {}).get("networkInterfaces") or []]
    if not nics:
        raise ArmError(400, "InvalidParameter", "At least one network interface is required.")
    for nic_id in nics:
        nic = arm.state.resources.get(nic_id)
        if nic is None:
            raise ArmError(404, "NotFound", f"Network interface {nic_id} was not found.")
        owner = (nic["properties"].get("virtualMachine") or {}).get("id")
        if owner and _lower_id(owner) != key:
            raise ArmError(400, "NicInUse", f"Network interface {nic_id} is used by VM {owner}.")
        nic["properties"]["virtualMachine"] = {"id": body["id"]}
    arm.state.extra.setdefault(key, {"power": "running", "vmId": str(uuid.uuid4())})


def _check_immutable(old: dict[str, Any], new: dict[str, Any]) -> None:
    before = (old.get("storageProfile") or {}).get("imageReference")
    after = (new.get("storageProfile") or {}).get("imageReference")
    if after is not None and before != after:
        raise ArmError(409, "PropertyChangeNotAllowed", "Changing property 'imageReference' is not allowed.")
    user = (old.get("osProfile") or {}).get("adminUsername")
    new_user = (new.get("osProfile") or {}).get("adminUsername")
    if new_user is not None and user != new_user:
        raise ArmError(409, "PropertyChangeNotAllowed", "Changing property 'osProfile.adminUsername' is not allowed.")


def _disk_id(vm: dict[str, Any], name: str) -> str:
    return vm["id"].rsplit("/providers/", 1)[0] + f"/providers/Microsoft.Compute/disks/{name}"


def _disk(arm: ArmServer, vm: dict[str, Any], name: str, size: int, sku: str) -> str:
    rid = _disk_id(vm, name)
    arm.state.resources[_lower_id(rid)] = {
        "id": rid, "name": name, "type": "Microsoft.Compute/disks", "location": vm["location"], "tags": {},
        "sku": {"name": sku}, "properties": {"diskSizeGB": size, "provisioningState": "Succeeded",
                                            "creationData": {"createOption": "Empty"}, "diskState": "Attached"}}
    return rid


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _patch(arm: ArmServer, path: str, spec: TypeSpec, data: Any) -> Answer:
    _check(spec, data, "update", path)
    key = _lower_id(path)
    stored = arm.state.resources.get(key)
    if stored is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{path}' was not found.")
    merged = copy.deepcopy(stored)
    if "tags" in data:
        merged["tags"] = data["tags"] or {}
    _merge(merged.setdefault("properties", {}), data.get("properties") or {})
    if "sku" in data:
        merged["sku"] = data["sku"]
    if spec.arm_type == "Microsoft.Compute/disks":
        old = stored["properties"].get("diskSizeGB") or 0
        new = merged["properties"].get("diskSizeGB") or old
        if new < old:
            raise ArmError(400, "BadRequest", f"Disk size cannot be decreased from {old} GB to {new} GB.")
        owner = stored["properties"].get("managedBy")
        if new != old and owner:
            vm = arm.state.resources.get(_lower_id(owner))
            os_disk = vm["properties"]["storageProfile"]["osDisk"] if vm is not None else {}
            is_os = _lower_id((os_disk.get("managedDisk") or {}).get("id", "")) == key
            if is_os and arm.state.extra.get(_lower_id(owner), {}).get("power") == "running":
                raise ArmError(409, "OperationNotAllowed", "An OS disk can be resized only while its VM is "
                                                           "deallocated.")
        arm.state.resources[key] = merged
    elif spec.arm_type == "Microsoft.Compute/virtualMachines":
        merged_props = merged["properties"]
        data_disks = ((data.get("properties") or {}).get("storageProfile") or {}).get("dataDisks")
        if data_disks is not None:
            merged_props["storageProfile"]["dataDisks"] = copy.deepcopy(data_disks)
        body = {**merged, "properties": merged_props}
        _store_vm(arm, body, stored)
        arm.state.resources[key] = body
    else:
        arm.state.resources[key] = merged
    current = arm.state.resources[key]
    op = arm.start_operation("PATCH", path, "patch")
    if spec.arm_type in ACCEPTED_WRITES:
        return 202, arm.operation_headers(op, _namespace(spec), location=True), None
    return 200, arm.operation_headers(op, _namespace(spec)), arm.render(current)


def _delete(arm: ArmServer, path: str, spec: TypeSpec) -> Answer:
    key = _lower_id(path)
    stored = arm.state.resources.get(key)
    if stored is None:
        return 204, {}, None
    users = _users(arm, stored)
    if users:
        codes = {"Microsoft.Network/networkInterfaces": (400, "NicInUse"),
                 "Microsoft.Network/networkSecurityGroups": (400, "InUseNetworkSecurityGroupCannotBeDeleted"),
                 "Microsoft.Network/publicIPAddresses": (400, "PublicIPAddressCannotBeDeleted"),
                 "Microsoft.Compute/disks": (409, "OperationNotAllowed")}
        status, code = codes.get(stored["type"], (409, "Conflict"))
        raise ArmError(status, code, f"{stored['type']} {stored['name']} is in use by {', '.join(users)}.")

    def remove() -> None:
        arm.state.resources.pop(key, None)
        arm.state.extra.pop(key, None)
        if stored["type"] == "Microsoft.Compute/virtualMachines":
            for res in arm.state.resources.values():
                props = res.get("properties") or {}
                if _lower_id(props.get("managedBy") or "") == key:
                    props.pop("managedBy", None)
                    props["diskState"] = "Unattached"
                if _lower_id((props.get("virtualMachine") or {}).get("id", "")) == key:
                    props.pop("virtualMachine", None)
            for child in [k for k in arm.state.resources if k.startswith(key + "/extensions/")]:
                arm.state.resources.pop(child)

    stored["properties"]["provisioningState"] = "Deleting"
    op = arm.start_operation("DELETE", path, "delete", on_success=remove)
    return 202, arm.operation_headers(op, _namespace(spec), location=True), None


def _users(arm: ArmServer, stored: dict[str, Any]) -> list[str]:
    rid = _lower_id(stored["id"])
    users = []
    for res in arm.state.resources.values():
        props = res.get("properties") or {}
        if stored["type"] == "Microsoft.Network/networkInterfaces" and _lower_id(
                (props.get("virtualMachine") or {}).get("id", "")) and res is stored:
            users.append(props["virtualMachine"]["id"])
        if res["type"] == "Microsoft.Network/networkInterfaces" and res is not stored:
            if _lower_id((props.get("networkSecurityGroup") or {}).get("id", "")) == rid:
                users.append(res["id"])
            for config in props.get("ipConfigurations") or []:
                if _lower_id(((config.get("properties") or {}).get("publicIPAddress") or {}).get("id", "")) == rid:
                    users.append(res["id"])
    if stored["type"] == "Microsoft.Compute/disks" and stored["properties"].get("managedBy"):
        users.append(stored["properties"]["managedBy"])
    return users


def _vm_action(arm: ArmServer, method: str, path: str, vm_path: str, action: str) -> Answer:
    stored = arm.state.resources.get(_lower_id(vm_path))
    if stored is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{vm_path}' was not found.")
    extra = arm.state.extra.setdefault(_lower_id(vm_path), {"power": "running", "vmId": str(uuid.uuid4())})
    if action == "instanceview":
        if method != "GET":
            raise ArmError(405, "MethodNotAllowed", "instanceView is GET only")
        return 200, {}, arm.instance_view(stored)
    if method != "POST":
        raise ArmError(405, "MethodNotAllowed", f"{action} is POST only")
    target = {"deallocate": "deallocated", "start": "running", "poweroff": "stopped", "restart": "running"}[action]
    extra["power"] = {"deallocate": "deallocating", "start": "starting", "poweroff": "stopping",
                      "restart": "starting"}[action]

    def finish() -> None:
        extra["power"] = target

    op = arm.start_operation("POST", path, action, on_success=finish)
    return 202, arm.operation_headers(op, "Microsoft.Compute", location=True), None


# -- deployments ---------------------------------------------------------------------------
def _deployment(arm: ArmServer, method: str, path: str, name: str, what_if: bool, data: Any) -> Answer:
    key = _lower_id(path.rsplit("/whatIf", 1)[0] if what_if else path)
    group_id = key.split("/providers/")[0]
    group = arm.state.groups.get(group_id)
    if group is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group of deployment {name} could not be found.")
    if what_if:
        if method != "POST":
            raise ArmError(405, "MethodNotAllowed", "whatIf is POST only")
        errors = check_body(deployments.DeploymentWhatIf, data, request="create")
        if errors:
            raise ArmError(400, "InvalidRequestContent", "; ".join(errors))
        changes = _what_if(arm, group, data["properties"])
        op = arm.start_operation("POST", path, "whatIf", result={"status": "Succeeded",
                                                               "properties": {"changes": changes}})
        return 202, {"Location": f"{arm.base_url}{_op_path(op)}", "Retry-After": str(arm.retry_after)}, None
    if method == "GET":
        found = arm.state.deployments.get(key)
        if found is None:
            raise ArmError(404, "DeploymentNotFound", f"Deployment '{name}' could not be found.")
        return 200, {}, found
    if method == "DELETE":
        arm.state.deployments.pop(key, None)
        return 204, {}, None
    if method != "PUT":
        raise ArmError(405, "MethodNotAllowed", f"{method} on a deployment")
    errors = check_body(deployments.Deployment, data, request="create")
    if errors:
        raise ArmError(400, "InvalidRequestContent", "; ".join(errors))
    props = data["properties"]
    if props.get("mode") != "Incremental":
        raise ArmError(400, "InvalidDeploymentMode", "This test server deploys in Incremental mode only.")
    created = key not in arm.state.deployments
    record: dict[str, Any] = {
        "id": path, "name": name, "type": "Microsoft.Resources/deployments",
        "properties": {"mode": "Incremental", "provisioningState": "Running", "outputs": {},
                       "timestamp": "2026-12-07T00:00:00Z"}}
    arm.state.deployments[key] = record
    failure = None
    try:
        outputs, ids = _deploy(arm, group, props)
        record["properties"]["outputs"] = outputs
        record["properties"]["outputResources"] = [{"id": rid} for rid in ids]
    except ArmError as exc:
        failure = {"code": "DeploymentFailed", "message": f"At least one resource deployment operation failed: "
                   f"{exc.code}: {exc.message}"}
    op = arm.start_operation("PUT", path, "deployment")
    if failure is not None:
        op.error = failure
    final = "Failed" if op.error else "Succeeded"

    def settle() -> None:
        record["properties"]["provisioningState"] = final

    op.on_success = settle
    if op.error:
        record["properties"]["provisioningState"] = "Failed"
        record["properties"]["error"] = op.error
    return (201 if created else 200), arm.operation_headers(op, "Microsoft.Resources"), record


def _template_resources(arm: ArmServer, group: dict[str, Any], props: dict[str, Any]) -> tuple[
        TemplateScope, list[tuple[str, TypeSpec, dict[str, Any]]]]:
    template = props.get("template")
    if not isinstance(template, dict) or not isinstance(template.get("resources"), list):
        raise TemplateError("the deployment has no template with a resources array (templateLink is not served here)")
    sub = group["id"].split("/")[2]
    scope = TemplateScope(subscription=sub, resource_group=group["name"], location=group["location"])
    bind_parameters(template, props.get("parameters") or {}, scope)
    planned = []
    for raw in template["resources"]:
        rtype = str(raw.get("type", ""))
        spec = TYPES.get(rtype.lower())
        if spec is None:
            raise TemplateError(f"the resource type {rtype!r} is not served by this test server")
        name = evaluate(raw.get("name"), scope)
        body = {k: evaluate(v, scope) for k, v in raw.items() if k not in TEMPLATE_KEYS}
        namespace, *types = spec.arm_type.split("/")
        names = str(name).split("/")
        rid = f"{group['id']}/providers/{namespace}/" + "/".join(
            f"{t}/{n}" for t, n in zip(types, names, strict=True))
        planned.append((rid, spec, body))
    return scope, planned


def _deploy(arm: ArmServer, group: dict[str, Any], props: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    scope, planned = _template_resources(arm, group, props)
    for rid, spec, body in planned:
        _check(spec, body, "create", rid)
        _store(arm, rid, spec, copy.deepcopy(body))
        arm.state.resources[_lower_id(rid)]["properties"]["provisioningState"] = "Succeeded"
    outputs = {}
    for key, spec_out in ((props.get("template") or {}).get("outputs") or {}).items():
        outputs[key] = {"type": spec_out.get("type", "string"), "value": evaluate(spec_out.get("value"), scope)}
    return outputs, [rid for rid, _, _ in planned]


# Write-only properties ARM never returns, which what-if does not report as changes.
WRITE_ONLY = {"customData", "adminPassword"}


def _contains(have: Any, wanted: Any) -> bool:
    """Whether the live value already has everything the template asks for (extra live fields are fine)."""
    if isinstance(wanted, dict):
        return isinstance(have, dict) and all(k in WRITE_ONLY or _contains(have.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(have, list) and len(have) == len(wanted) and all(
            _contains(h, w) for h, w in zip(have, wanted, strict=True))
    return bool(have == wanted)


def _leaves(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in WRITE_ONLY:
                yield from _leaves(item, (*prefix, key))
    else:
        yield prefix, value


def _lookup(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _what_if(arm: ArmServer, group: dict[str, Any], props: dict[str, Any]) -> list[dict[str, Any]]:
    _, planned = _template_resources(arm, group, props)
    changes = []
    for rid, spec, body in planned:
        errors = check_body(spec.model, body, request="create")
        if errors:
            raise ArmError(400, "InvalidTemplate", f"{rid}: " + "; ".join(errors))
        stored = arm.state.resources.get(_lower_id(rid))
        after = {"id": rid, "type": spec.arm_type, **body}
        if stored is None:
            changes.append({"resourceId": rid, "changeType": "Create", "after": after})
            continue
        current = arm.render(stored)
        delta = []
        for path, wanted in _leaves({k: v for k, v in body.items() if k in ("tags", "properties", "sku")}):
            have = _lookup(current, path)
            if not _contains(have, wanted):
                delta.append({"path": ".".join(path), "propertyChangeType": "Modify" if have is not None else "Create",
                              "before": have, "after": wanted})
        changes.append({"resourceId": rid, "changeType": "Modify" if delta else "NoChange", "before": current,
                        "after": after, **({"delta": delta} if delta else {})})
    return changes


@pytest.fixture
def arm_server() -> Iterator[ArmServer]:
    """A fresh ARM test server with resource group `homelab` and subnet `homelab-vnet/default`."""
    server = ArmServer()
    try:
        yield server
    finally:
        server.stop()
        assert not server.state.schema_errors, f"requests the SDK models reject: {server.state.schema_errors}"


def main() -> None:
    """Serve until Ctrl-C or SIGTERM (`python -m tests.backends.arm`), for trying the provider by hand."""
    import signal
    import sys

    server = ArmServer(settle_seconds=0.5)
    print(f"ARM test server at {server.base_url}\nsubscription {SUBSCRIPTION}, resource group {RESOURCE_GROUP}, "
          f"location {LOCATION}\nsubnet {server.subnet_id}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.thread.join()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
        if server.state.schema_errors:
            print("requests the SDK models rejected:\n  " + "\n  ".join(server.state.schema_errors), flush=True)


if __name__ == "__main__":
    main()
