"""The cloudformation executor's update path, replayed from change sets recorded on real AWS.

moto 5.2.5 loses the EC2 instance when a stack is updated, so these tests feed the executor the
DescribeChangeSet responses AWS itself produced (see recorded/README.md) through botocore's
Stubber, which also checks every request against the CloudFormation API model.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from reconciler.models.plan import Change, Op
from reconciler.providers.aws.apply_cloudformation import CfnExecutor, parse_change_set
from reconciler.providers.base import RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError

RECORDED = Path(__file__).with_name("recorded")
STACK = "homeport-home-web"
STACK_ID = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK}/1a2345b6-0000-00a0-a123-00abc0abc000"
TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  InstanceType: {Type: String, Default: t3.medium}
  ImageId: {Type: "AWS::EC2::Image::Id", Default: ami-0123456789abcdef0}
Resources:
  Instance:
    Type: AWS::EC2::Instance
    Properties: {InstanceType: !Ref InstanceType, ImageId: !Ref ImageId}
"""


def recorded(name: str) -> dict[str, Any]:
    """A recorded response, timestamps turned back into datetimes as botocore returns them."""
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    if "CreationTime" in data:
        data["CreationTime"] = dt.datetime.fromisoformat(data["CreationTime"].replace("Z", "+00:00"))
    return data


def stack(status: str, outputs: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A DescribeStacks response for the resource's stack."""
    body: dict[str, Any] = {
        "StackName": STACK,
        "StackId": STACK_ID,
        "StackStatus": status,
        "CreationTime": dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
    }
    if outputs:
        body["Outputs"] = outputs
    return {"Stacks": [body]}


@pytest.fixture
def cfn() -> Any:
    """A real CloudFormation client whose responses come from the recordings (no network)."""
    return boto3.client(
        "cloudformation",
        region_name="us-east-1",
        aws_access_key_id="recorded",
        aws_secret_access_key="recorded",
        endpoint_url="http://127.0.0.1:9",
    )


def test_recorded_change_sets_parse_into_a_plan_preview() -> None:
    preview = parse_change_set(recorded("describe_change_set_update.json"), STACK)
    [change] = preview.changes
    assert (change.action, change.logical_id, change.resource_type, change.replacement) == (
        "Modify",
        "MyEC2Instance",
        "AWS::EC2::Instance",
        "True",
    )
    assert "Properties.InstanceType (Static, recreation Conditionally)" in change.details
    assert "Properties.KeyName (Static, recreation Always)" in change.details
    assert preview.lines()[0].startswith("Modify MyEC2Instance (AWS::EC2::Instance, replacement True)")

    direct = parse_change_set(recorded("describe_change_set_direct.json"), STACK)
    assert [(c.scope, c.replacement, c.details) for c in direct.changes] == [(["Tags"], "False", ["Tags (Static)"])]

    none = parse_change_set(recorded("describe_change_set_no_changes.json"), STACK)
    assert none.empty and none.changes == []


def test_update_creates_an_update_change_set_executes_it_and_reports_it(cfn: Any) -> None:
    executor = CfnExecutor(cfn, "home", waiter_delay=0, sleep=lambda _s: None)
    change = Change(
        op=Op.update,
        resource="web",
        provider="cloud",
        provider_type="aws",
        reason="type",
        desired={"region": "us-east-1", "instance_type": "t3.xlarge", "ami": "ami-0123456789abcdef0"},
    )
    update = recorded("describe_change_set_update.json")
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", stack("CREATE_COMPLETE"), {"StackName": STACK})
        stub.add_response("describe_stacks", stack("CREATE_COMPLETE"), {"StackName": STACK})
        stub.add_client_error("describe_change_set", "ChangeSetNotFound", "ChangeSet does not exist", 404)
        stub.add_response(
            "create_change_set",
            {"Id": update["ChangeSetId"], "StackId": STACK_ID},
            {
                "StackName": STACK,
                "ChangeSetName": ANY,
                "ChangeSetType": "UPDATE",
                "TemplateBody": TEMPLATE,
                "Parameters": [
                    {"ParameterKey": "InstanceType", "ParameterValue": "t3.xlarge"},
                    {"ParameterKey": "ImageId", "ParameterValue": "ami-0123456789abcdef0"},
                ],
                "Tags": [
                    {"Key": "homeport.managed-by", "Value": "homeport"},
                    {"Key": "homeport.lab", "Value": "home"},
                    {"Key": "homeport.resource", "Value": "web"},
                    {"Key": "Name", "Value": "web"},
                ],
                "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            },
        )
        stub.add_response("describe_change_set", update)
        stub.add_response("describe_stacks", stack("CREATE_COMPLETE"))
        stub.add_response("execute_change_set", {})
        stub.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"))
        stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
        stub.add_response(
            "describe_stacks", stack("UPDATE_COMPLETE", [{"OutputKey": "InstanceId", "OutputValue": "i-7bef86f8"}])
        )
        result = executor.apply(change, RenderedArtifacts(chart="aws-ec2", files={"template.yaml": TEMPLATE}))
        stub.assert_no_pending_responses()
    assert result.provider_id == "i-7bef86f8"
    assert result.message.startswith(f"updated stack {STACK}: Modify MyEC2Instance")
    assert result.outputs["change_set"]["changes"][0]["replacement"] == "True"


def test_update_with_nothing_to_change_deletes_the_empty_change_set(cfn: Any) -> None:
    executor = CfnExecutor(cfn, "home", waiter_delay=0, sleep=lambda _s: None)
    change = Change(
        op=Op.update,
        resource="web",
        provider="cloud",
        provider_type="aws",
        reason="same",
        desired={"region": "us-east-1", "instance_type": "t3.medium", "ami": "ami-0123456789abcdef0"},
    )
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
        stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
        stub.add_client_error("describe_change_set", "ChangeSetNotFound", "ChangeSet does not exist", 404)
        stub.add_response("create_change_set", {"Id": "arn:cs", "StackId": STACK_ID})
        stub.add_response("describe_change_set", recorded("describe_change_set_no_changes.json"))
        stub.add_response("delete_change_set", {})
        result = executor.apply(change, RenderedArtifacts(chart="aws-ec2", files={"template.yaml": TEMPLATE}))
        stub.assert_no_pending_responses()
    assert "already matches" in result.message


def test_a_busy_or_rolled_back_stack_is_reported_not_updated(cfn: Any) -> None:
    executor = CfnExecutor(cfn, "home", waiter_delay=0, sleep=lambda _s: None)
    change = Change(
        op=Op.update,
        resource="web",
        provider="cloud",
        provider_type="aws",
        reason="x",
        desired={"instance_type": "t3.medium", "ami": "ami-0123456789abcdef0"},
    )
    artifacts = RenderedArtifacts(chart="aws-ec2", files={"template.yaml": TEMPLATE})
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", stack("ROLLBACK_COMPLETE"))
        with pytest.raises(PermanentProviderError, match="rolled back"):
            executor.apply(change, artifacts)


def test_a_change_set_already_executed_is_not_reused(cfn: Any) -> None:
    """Change set names derive from the template: going A -> B -> A -> B needs a fresh name for B."""
    executor = CfnExecutor(cfn, "home", waiter_delay=0, sleep=lambda _s: None)
    executed = {
        **recorded("describe_change_set_update.json"),
        "ExecutionStatus": "EXECUTE_COMPLETE",
        "StackId": STACK_ID,
    }
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
        stub.add_response("describe_change_set", executed)
        stub.add_client_error("describe_change_set", "ChangeSetNotFound", "ChangeSet does not exist", 404)
        name, existing = executor._free_change_set(STACK, "homeport-update-0123456789abcdef")
        stub.assert_no_pending_responses()
    assert (name, existing) == ("homeport-update-0123456789abcdef-2", None)
