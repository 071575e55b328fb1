"""The ARM test server's deployments: templates evaluated and deployed resource by resource, and what-if."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from azure.mgmt.resource.deployments import models as deployments

from tests.backends.arm_expressions import TemplateError, TemplateScope, bind_parameters, evaluate
from tests.backends.arm_models import check_body
from tests.backends.arm_resources import check_request, store_resource
from tests.backends.arm_types import TEMPLATE_KEYS, TYPES, Answer, ArmError, TypeSpec, lower_id, op_path

if TYPE_CHECKING:
    from tests.backends.arm import ArmServer


def deployment(arm: ArmServer, method: str, path: str, name: str, what_if: bool, data: Any) -> Answer:
    """PUT/GET/DELETE a deployment, or POST its what-if."""
    key = lower_id(path.rsplit("/whatIf", 1)[0] if what_if else path)
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
        return 202, {"Location": f"{arm.base_url}{op_path(op)}", "Retry-After": str(arm.retry_after)}, None
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
        check_request(spec, body, "create", rid)
        store_resource(arm, rid, spec, copy.deepcopy(body))
        arm.state.resources[lower_id(rid)]["properties"]["provisioningState"] = "Succeeded"
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
    changes: list[dict[str, Any]] = []
    for rid, spec, body in planned:
        errors = check_body(spec.model, body, request="create")
        if errors:
            raise ArmError(400, "InvalidTemplate", f"{rid}: " + "; ".join(errors))
        stored = arm.state.resources.get(lower_id(rid))
        after = {"id": rid, "type": spec.arm_type, **body}
        if stored is None:
            changes.append({"resourceId": rid, "changeType": "Create", "after": after})
            continue
        current = arm.render(stored)
        delta: list[dict[str, Any]] = []
        for path, wanted in _leaves({k: v for k, v in body.items() if k in ("tags", "properties", "sku")}):
            have = _lookup(current, path)
            if not _contains(have, wanted):
                delta.append({"path": ".".join(path), "propertyChangeType": "Modify" if have is not None else "Create",
                              "before": have, "after": wanted})
        changes.append({"resourceId": rid, "changeType": "Modify" if delta else "NoChange", "before": current,
                        "after": after, **({"delta": delta} if delta else {})})
    return changes

