"""The `cloudformation` executor: the aws-ec2 chart's template deployed as a stack through change sets."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import yaml
from pydantic import BaseModel, Field

from reconciler.models.plan import Change, Op
from reconciler.providers.aws.errors import aws_call, map_error
from reconciler.providers.aws.fields import ownership_tags, stack_name
from reconciler.providers.base import ApplyResult, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, TransientProviderError

TEMPLATE_FILES = ("template.yaml", "template.yml", "template.json")
# Template parameters homeport fills from the desired fields, so the stack and the plan agree.
PARAMETER_FIELDS = {"InstanceType": "instance_type", "ImageId": "ami", "SubnetId": "subnet_id"}
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "does not contain changes")
_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}


class ResourceChangePreview(BaseModel):
    """One resource a change set would touch."""

    action: str
    logical_id: str
    resource_type: str
    physical_id: str | None = None
    replacement: str | None = Field(default=None, description="True, False or Conditional (modify only)")
    scope: list[str] = Field(default_factory=list)
    details: list[str] = Field(default_factory=list, description="'Properties.InstanceType (Static)' and such")


class ChangeSetPreview(BaseModel):
    """A change set as a plan preview: what CloudFormation says it would do."""

    stack: str
    change_set: str
    status: str
    status_reason: str | None = None
    changes: list[ResourceChangePreview] = Field(default_factory=list)
    exists: bool = Field(default=True, description="False when CloudFormation refused to store an empty set")

    @property
    def empty(self) -> bool:
        """CloudFormation found nothing to change."""
        return self.status == "FAILED" and any(text in (self.status_reason or "") for text in _NO_CHANGES)

    def lines(self) -> list[str]:
        """One line per resource change, for people."""
        out = []
        for change in self.changes:
            replace = f", replacement {change.replacement}" if change.replacement else ""
            detail = f" [{'; '.join(change.details)}]" if change.details else ""
            out.append(f"{change.action} {change.logical_id} ({change.resource_type}{replace}){detail}")
        return out


def parse_change_set(response: dict[str, Any], stack: str) -> ChangeSetPreview:
    """Pure: a DescribeChangeSet response as a preview."""
    changes = []
    for item in response.get("Changes", []):
        rc = item.get("ResourceChange", {})
        details = []
        for detail in rc.get("Details", []):
            target = detail.get("Target", {})
            path = ".".join(p for p in (target.get("Attribute"), target.get("Name")) if p)
            how = detail.get("Evaluation")
            requires = target.get("RequiresRecreation")
            suffix = f" ({how}" + (f", recreation {requires}" if requires and requires != "Never" else "") + ")"
            details.append(path + (suffix if how else ""))
        changes.append(
            ResourceChangePreview(
                action=rc.get("Action", "?"),
                logical_id=rc.get("LogicalResourceId", "?"),
                resource_type=rc.get("ResourceType", "?"),
                physical_id=rc.get("PhysicalResourceId"),
                replacement=rc.get("Replacement"),
                scope=list(rc.get("Scope", [])),
                details=details,
            )
        )
    return ChangeSetPreview(
        stack=stack,
        change_set=str(response.get("ChangeSetName", "")),
        status=str(response.get("Status", "")),
        status_reason=response.get("StatusReason"),
        changes=changes,
    )


class _CfnLoader(yaml.SafeLoader):
    """PyYAML's safe loader that reads CloudFormation short forms (!Ref, !Sub, ...) as null."""


_CfnLoader.add_multi_constructor("!", lambda _loader, _suffix, _node: None)


def template_body(artifacts: RenderedArtifacts | None, resource: str) -> str:
    """The rendered CloudFormation template among the chart's files."""
    if artifacts is not None:
        for name in TEMPLATE_FILES:
            if name in artifacts.files:
                return artifacts.files[name]
    raise PermanentProviderError(
        f"{resource}: the cloudformation executor needs the aws-ec2 chart's template.yaml; render the "
        "resource with the aws-ec2 chart (template infrastructure.chart: aws-ec2)"
    )


def _template(body: str) -> dict[str, Any]:
    try:
        document = yaml.load(body, Loader=_CfnLoader)
    except yaml.YAMLError:
        document = json.loads(body)
    return document if isinstance(document, dict) else {}


def template_user_data(body: str) -> str | None:
    """The instance's literal user data (`UserData: {Fn::Base64: "..."}`) in a template, if any."""
    for item in (_template(body).get("Resources") or {}).values():
        if isinstance(item, dict) and item.get("Type") == "AWS::EC2::Instance":
            user_data = (item.get("Properties") or {}).get("UserData")
            if isinstance(user_data, dict) and isinstance(user_data.get("Fn::Base64"), str):
                return str(user_data["Fn::Base64"])
    return None


def template_parameters(body: str, desired: dict[str, Any]) -> list[dict[str, str]]:
    """Parameters the template declares that homeport fills from desired fields."""
    declared = _template(body).get("Parameters", {}) or {}
    return [
        {"ParameterKey": key, "ParameterValue": str(desired[field])}
        for key, field in PARAMETER_FIELDS.items()
        if key in declared and desired.get(field)
    ]


@dataclass
class CfnExecutor:
    """Creates, updates and deletes one resource's stack through change sets."""

    cfn: Any
    lab: str
    waiter_delay: int = 5
    waiter_attempts: int = 360
    sleep: Callable[[float], None] = time.sleep
    ec2: Any = None

    def lost_instance(self, stack: str) -> str | None:
        """The id of the stack's instance when it no longer runs (terminated out of band), else None.

        CloudFormation does not notice; an update would report "no changes" and leave it missing.
        """
        if self.ec2 is None or self.stack_status(stack) in (None, "REVIEW_IN_PROGRESS"):
            return None
        listing = aws_call("describe stack resources", self.cfn.describe_stack_resources, StackName=stack)
        ids = [
            r["PhysicalResourceId"]
            for r in listing.get("StackResources", [])
            if r.get("ResourceType") == "AWS::EC2::Instance" and r.get("PhysicalResourceId")
        ]
        if not ids:
            return None
        try:
            found = self.ec2.describe_instances(InstanceIds=ids)
        except botocore.exceptions.ClientError as exc:
            if "NotFound" in str(exc.response.get("Error", {}).get("Code", "")):
                return str(ids[0])
            raise map_error(exc, "describe stack instance") from exc
        states = [i["State"]["Name"] for r in found.get("Reservations", []) for i in r.get("Instances", [])]
        gone = not states or all(state in ("shutting-down", "terminated") for state in states)
        return str(ids[0]) if gone else None

    def stack_status(self, stack: str) -> str | None:
        """The stack's status, or None when it does not exist (or is fully deleted)."""
        try:
            response = self.cfn.describe_stacks(StackName=stack)
        except botocore.exceptions.ClientError as exc:
            if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
                return None
            raise map_error(exc, "describe stack") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise map_error(exc, "describe stack") from exc
        stacks = response.get("Stacks", [])
        status = stacks[0]["StackStatus"] if stacks else None
        return None if status == "DELETE_COMPLETE" else status

    def _change_set_name(self, body: str, parameters: list[dict[str, str]], kind: str) -> str:
        digest = hashlib.sha256((kind + body + json.dumps(parameters, sort_keys=True)).encode()).hexdigest()
        return f"homeport-{kind.lower()}-{digest[:16]}"

    def prepare(self, name: str, body: str, desired: dict[str, Any]) -> ChangeSetPreview:
        """Create (or find, after a crash) the change set for this template and wait until it is ready."""
        stack = stack_name(self.lab, name)
        status = self.stack_status(stack)
        kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
        if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            raise TransientProviderError(f"stack {stack} is busy ({status}); retrying later", delay=30.0)
        if status == "ROLLBACK_COMPLETE":
            raise PermanentProviderError(
                f"stack {stack} failed to create and was rolled back; delete it (homeport replaces it on "
                "the next run if the resource is marked for replacement) and look at its events for the cause"
            )
        parameters = template_parameters(body, desired)
        change_set, existing = self._free_change_set(stack, self._change_set_name(body, parameters, kind))
        if existing is None:
            tags = [{"Key": key, "Value": value} for key, value in ownership_tags(self.lab, name).items()]
            try:
                self.cfn.create_change_set(
                    StackName=stack,
                    ChangeSetName=change_set,
                    ChangeSetType=kind,
                    TemplateBody=body,
                    Parameters=parameters,
                    Tags=tags,
                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                )
            except botocore.exceptions.ClientError as exc:
                message = str(exc.response.get("Error", {}).get("Message", ""))
                if any(text in message for text in _NO_CHANGES):
                    # Some CloudFormation front ends (moto) refuse an empty change set outright.
                    return ChangeSetPreview(
                        stack=stack,
                        change_set=change_set,
                        status="FAILED",
                        status_reason=message,
                        exists=False,
                    )
                raise map_error(exc, "create change set") from exc
            except botocore.exceptions.BotoCoreError as exc:
                raise map_error(exc, "create change set") from exc
        return self._wait_change_set(stack, change_set)

    def _free_change_set(self, stack: str, base: str) -> tuple[str, dict[str, Any] | None]:
        """A change set name to use: the one a crashed run left ready (reused), or a fresh one.

        Names derive from the template, so a rerun finds its own change set; one already executed,
        or left from an earlier stack of the same name, gets a numbered successor instead.
        """
        stack_id = self._stack_id(stack)
        for n in range(1, 50):
            name = base if n == 1 else f"{base}-{n}"
            existing = self._describe(stack, name)
            if existing is None:
                return name, None
            same_stack = stack_id is None or existing.get("StackId") == stack_id
            if (
                same_stack
                and existing.get("ExecutionStatus", "AVAILABLE") == "AVAILABLE"
                and existing.get("Status") in ("CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_COMPLETE")
            ):
                return name, existing
        raise PermanentProviderError(f"stack {stack}: too many change sets named {base}-N; delete old ones")

    def _stack_id(self, stack: str) -> str | None:
        try:
            response = self.cfn.describe_stacks(StackName=stack)
        except botocore.exceptions.ClientError as exc:
            if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
                return None
            raise map_error(exc, "describe stack") from exc
        stacks = response.get("Stacks", [])
        return str(stacks[0]["StackId"]) if stacks and stacks[0].get("StackStatus") != "DELETE_COMPLETE" else None

    def _describe(self, stack: str, change_set: str) -> dict[str, Any] | None:
        try:
            return dict(self.cfn.describe_change_set(StackName=stack, ChangeSetName=change_set))
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "ChangeSetNotFound",
                "ChangeSetNotFoundException",
                "ValidationError",
            ):
                return None
            raise map_error(exc, "describe change set") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise map_error(exc, "describe change set") from exc

    def _wait_change_set(self, stack: str, change_set: str) -> ChangeSetPreview:
        for _ in range(self.waiter_attempts):
            response = aws_call(
                "describe change set", self.cfn.describe_change_set, StackName=stack, ChangeSetName=change_set
            )
            if response.get("Status") in ("CREATE_COMPLETE", "FAILED"):
                preview = parse_change_set(response, stack)
                preview.change_set = change_set
                if response.get("Status") == "FAILED" and not preview.empty:
                    raise PermanentProviderError(
                        f"change set {change_set} for {stack} failed: {response.get('StatusReason', '')}"
                    )
                return preview
            self.sleep(self.waiter_delay)
        raise TransientProviderError(f"change set {change_set} for {stack} is still being created", delay=30.0)

    def preview(self, name: str, body: str, desired: dict[str, Any]) -> ChangeSetPreview:
        """The change set CloudFormation would execute, created but not executed (the plan preview)."""
        return self.prepare(name, body, desired)

    def deploy(self, name: str, body: str, desired: dict[str, Any]) -> ApplyResult:
        """Create or update the stack: prepare the change set, execute it, wait for the stack."""
        preview = self.prepare(name, body, desired)
        stack = preview.stack
        outputs: dict[str, Any] = {"change_set": preview.model_dump(), "stack": stack}
        if preview.empty:
            if preview.exists:
                aws_call(
                    "delete empty change set",
                    self.cfn.delete_change_set,
                    StackName=stack,
                    ChangeSetName=preview.change_set,
                )
            return ApplyResult(
                provider_id=stack,
                node=desired.get("region"),
                message=f"stack {stack} already matches the template",
                outputs=outputs,
            )
        creating = self.stack_status(stack) in (None, "REVIEW_IN_PROGRESS")
        aws_call(
            "execute change set",
            self.cfn.execute_change_set,
            StackName=stack,
            ChangeSetName=preview.change_set,
        )
        waiter = self.cfn.get_waiter("stack_create_complete" if creating else "stack_update_complete")
        aws_call(
            "wait for stack",
            waiter.wait,
            StackName=stack,
            WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": self.waiter_attempts},
        )
        stack_outputs = self._outputs(stack)
        outputs["stack_outputs"] = stack_outputs
        summary = "; ".join(preview.lines()) or "no resource changes"
        return ApplyResult(
            provider_id=stack_outputs.get("InstanceId", stack),
            node=desired.get("region"),
            message=f"{'created' if creating else 'updated'} stack {stack}: {summary}",
            outputs=outputs,
        )

    def _outputs(self, stack: str) -> dict[str, str]:
        response = aws_call("describe stack", self.cfn.describe_stacks, StackName=stack)
        outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in response["Stacks"][0].get("Outputs", [])}
        if "InstanceId" not in outputs:
            # Outputs can lag (and moto leaves them out after change sets): the resource list has the id.
            resources = aws_call("describe stack resources", self.cfn.describe_stack_resources, StackName=stack)
            for item in resources.get("StackResources", []):
                if item.get("ResourceType") == "AWS::EC2::Instance" and item.get("PhysicalResourceId"):
                    outputs["InstanceId"] = item["PhysicalResourceId"]
        return outputs

    def delete(self, name: str) -> ApplyResult:
        """Delete the stack and wait until it is gone; fine when it never existed."""
        stack = stack_name(self.lab, name)
        if self.stack_status(stack) is None:
            return ApplyResult(message=f"stack {stack} was already absent")
        aws_call("delete stack", self.cfn.delete_stack, StackName=stack)
        waiter = self.cfn.get_waiter("stack_delete_complete")
        aws_call(
            "wait for stack delete",
            waiter.wait,
            StackName=stack,
            WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": self.waiter_attempts},
        )
        return ApplyResult(provider_id=stack, message=f"deleted stack {stack}")

    def apply(self, change: Change, artifacts: RenderedArtifacts | None) -> ApplyResult:
        """Carry out one change through the stack."""
        if change.op is Op.delete:
            return self.delete(change.resource)
        if change.op is Op.noop:
            return ApplyResult(provider_id=change.provider_id, message=change.reason)
        if change.op is Op.rename:
            raise PermanentProviderError(
                f"{change.resource}: a stack cannot be renamed; with the cloudformation executor a rename "
                "is a delete of the old resource and a create of the new one"
            )
        body = template_body(artifacts, change.resource)
        if change.op is Op.create:
            lost = self.lost_instance(stack_name(self.lab, change.resource))
            if lost is not None:
                # The stack outlived its instance: only a new stack brings it back.
                removed = self.delete(change.resource)
                created = self.deploy(change.resource, body, change.desired)
                created.message = f"instance {lost} was gone; {removed.message}; {created.message}"
                return created
        # create, update and replace are all one change set: CloudFormation decides what it replaces.
        return self.deploy(change.resource, body, change.desired)
