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
Modules: arm_types (vocabulary and state), arm_resources (per-type rules), arm_deployments (templates
and what-if), arm_models (the SDK model check), arm_expressions (template functions).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.backends.arm_deployments import deployment
from tests.backends.arm_expressions import TemplateError
from tests.backends.arm_resources import delete_resource, patch_resource, put_resource, vm_action
from tests.backends.arm_types import (
    LOCATION,
    RESOURCE_GROUP,
    SUBNET,
    SUBSCRIPTION,
    TYPES,
    VNET,
    Answer,
    ArmError,
    ArmState,
    Call,
    Fault,
    Operation,
    lower_id,
    op_path,
    parse_id,
    status_of,
)

__all__ = ["LOCATION", "RESOURCE_GROUP", "SUBSCRIPTION", "ArmServer", "arm_server"]


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
        self.state.groups[lower_id(rid)] = {
            "id": rid, "name": name, "type": "Microsoft.Resources/resourceGroups", "location": location,
            "properties": {"provisioningState": "Succeeded"},
        }

    def seed_subnet(self, group: str, vnet: str, subnet: str) -> None:
        """A virtual network with one subnet (homeport never creates networks, it joins them)."""
        vid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}"
        self.state.resources[lower_id(vid)] = {
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
            self.state.resources[lower_id(rid)] = {
                "id": rid, "name": name, "type": "Microsoft.Compute/virtualMachines", "location": LOCATION,
                "tags": tags, "properties": {
                    "hardwareProfile": {"vmSize": "Standard_B1ms"},
                    "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts",
                                                          "sku": "server", "version": "latest"},
                                       "osDisk": {"createOption": "FromImage", "diskSizeGB": 30}, "dataDisks": []},
                    "networkProfile": {"networkInterfaces": []}, "provisioningState": "Succeeded"}}
            self.state.extra[lower_id(rid)] = {"power": "running", "vmId": str(uuid.uuid4())}
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
            extra = self.state.extra.get(lower_id(stored["id"]), {})
            props["vmId"] = extra.get("vmId", "")
            os_profile = props.get("osProfile") or {}
            os_profile.pop("customData", None)
            os_profile.pop("adminPassword", None)
            storage = props.get("storageProfile") or {}
            for disk in [storage.get("osDisk") or {}, *(storage.get("dataDisks") or [])]:
                ref = (disk.get("managedDisk") or {}).get("id")
                live = self.state.resources.get(lower_id(ref)) if ref else None
                if live is not None:
                    disk["diskSizeGB"] = live["properties"].get("diskSizeGB")
                    disk["name"] = live["name"]
            if instance_view:
                props["instanceView"] = self.instance_view(stored)
        return out

    def instance_view(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A VM's instance view: provisioning and power state statuses."""
        extra = self.state.extra.get(lower_id(stored["id"]), {})
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
        status, headers, body = 500, dict[str, str](), None
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
    deploy = re.match(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+)/providers/microsoft\.resources/"
                      r"deployments/([^/]+)(/whatif)?$", low)
    if deploy:
        return deployment(arm, method, path, deploy.group(2), bool(deploy.group(3)), data)
    action = re.match(r"^(/subscriptions/.+/providers/microsoft\.compute/virtualmachines/[^/]+)/"
                      r"(deallocate|start|poweroff|restart|instanceview)$", low)
    if action:
        return vm_action(arm, method, path, action.group(1), action.group(2))
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
        return put_resource(arm, path, spec, data)
    if method == "PATCH":
        return patch_resource(arm, path, spec, data)
    if method == "DELETE":
        return delete_resource(arm, path, spec)
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
        return 200, headers, status_of(op, arm.settle_seconds)
    # Location polling: 202 while running, then the result (200) or nothing (204); a failure is the error.
    if status == "InProgress":
        op.polls_left -= 1
        return 202, {"Retry-After": str(arm.retry_after), "Location": f"{arm.base_url}{op_path(op)}"}, None
    if status == "Failed":
        raise ArmError(400, op.error["code"] if op.error else "Failed", op.error["message"] if op.error else "failed")
    return (200, {}, op.result) if op.result is not None else (204, {}, None)



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

