"""The `cloudformation` executor on moto: the aws-ec2 chart's template, deployed through change sets.

moto 5.2.5 creates and deletes stacks faithfully but an update does not reach EC2, so the update
path is covered by test_cfn_recorded.py with a recorded change set instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.assets import asset_dir
from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.models.resource import Disk, Port
from reconciler.plan.diff import diff_fields
from reconciler.providers.aws import AwsProvider
from reconciler.providers.base import RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError
from reconciler.render.chart import load_chart
from reconciler.render.engine import render_chart
from reconciler.render.validators import validate_rendered
from tests.backends.moto import FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from tests.providers.aws.conftest import LAB, REGION, make_provider, make_resource


def rendered(resource: EffectiveResource) -> RenderedArtifacts:
    """The aws-ec2 chart's output for resource, checked by cfn-lint as the render phase would."""
    chart = load_chart(asset_dir("charts") / "aws-ec2")
    out = render_chart(chart, resource)
    issues = validate_rendered(out.files, chart)
    assert not [i for i in issues if i.severity in ("error", "unavailable")], issues
    return RenderedArtifacts(chart=out.chart, files=out.files)


def cfn_resource(ami: str, root_device: str, **requirements: Any) -> EffectiveResource:
    """A resource for the cloudformation executor, with the AMI's real root device name."""
    resource = make_resource("web", ami, **requirements)
    resource.properties.update({"executor": "cloudformation", "root_device_name": root_device})
    return resource


def change_for(provider: AwsProvider, op: Op, resource: EffectiveResource) -> Change:
    """A change as the planner builds it."""
    return Change(
        op=op,
        resource=resource.name,
        provider="cloud",
        provider_type="aws",
        reason=op.value,
        desired=provider.desired_fields(resource),
    )


@pytest.fixture
def provider(moto_endpoint: str, tmp_path: Path) -> AwsProvider:
    """A provider whose resources pick their executor (here: cloudformation, per resource)."""
    return make_provider(moto_endpoint, tmp_path)


@pytest.fixture
def cfn(moto_endpoint: str) -> Any:
    """A plain CloudFormation client on moto."""
    return boto3.client(
        "cloudformation",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
    )


@pytest.fixture
def root_device(ec2: Any, ami: str) -> str:
    """The root device name of the test AMI."""
    return str(ec2.describe_images(ImageIds=[ami])["Images"][0]["RootDeviceName"])


def test_create_previews_the_change_set_then_deploys_an_owned_instance(
    provider: AwsProvider, cfn: Any, ec2: Any, ami: str, root_device: str
) -> None:
    resource = cfn_resource(
        ami,
        root_device,
        cpu=2,
        memory_gb=4,
        storage_gb=20,
        disks=[Disk(name="data", size=30)],
        ports=[Port(name="http", port=80)],
    )
    artifacts = rendered(resource)
    change = change_for(provider, Op.create, resource)

    preview = provider.preview_change_set(change, resource, artifacts)
    assert preview is not None and preview.status == "CREATE_COMPLETE"
    assert {(c.action, c.resource_type) for c in preview.changes} >= {
        ("Add", "AWS::EC2::Instance"),
        ("Add", "AWS::EC2::SecurityGroup"),
        ("Add", "AWS::EC2::Volume"),
    }
    assert cfn.describe_stacks(StackName="homeport-home-web")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"

    result = provider.apply(change, resource, artifacts)
    stack = cfn.describe_stacks(StackName="homeport-home-web")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {t["Key"]: t["Value"] for t in stack["Tags"]}["homeport.lab"] == LAB
    assert result.outputs["change_set"]["changes"], "the executed change set is reported"
    instance_id = result.outputs["stack_outputs"]["InstanceId"]
    assert result.provider_id == instance_id

    observed = provider.observe().owned(LAB)["web"]
    assert observed.id == instance_id
    # The chart's instance-type table and the provider's agree, and so does everything moto builds.
    # moto 5.2.5 ignores SecurityGroupIds on AWS::EC2::Instance and Tags/VolumeType on
    # AWS::EC2::Volume, so those fields cannot match here (real CloudFormation sets them).
    moto_gaps = {"ingress", "volumes[/dev/sdf].name", "volumes[/dev/sdf].type"}
    changes = diff_fields(provider.desired_fields(resource), observed.fields, None, provider.diff_rules)
    assert {c.path for c in changes} <= moto_gaps
    assert observed.fields["instance_type"] == "t3.medium" and observed.fields["ami"] == ami
    assert observed.fields["tags"] == {"app": "web"} and observed.fields["state"] == "running"
    assert [(v["device"], v["size_gb"]) for v in observed.fields["volumes"]] == [("root", 20), ("/dev/sdf", 30)]


def test_deploying_the_same_template_again_changes_nothing(
    provider: AwsProvider, cfn: Any, ami: str, root_device: str
) -> None:
    resource = cfn_resource(ami, root_device)
    artifacts = rendered(resource)
    first = provider.apply(change_for(provider, Op.create, resource), resource, artifacts)
    again = provider.apply(change_for(provider, Op.update, resource), resource, artifacts)
    assert "already matches" in again.message
    assert again.outputs["stack"] == first.outputs["stack"]
    sets = cfn.list_change_sets(StackName="homeport-home-web")["Summaries"]
    assert all(s["Status"] != "FAILED" for s in sets), "the empty change set is cleaned up"


def test_delete_removes_the_stack_and_its_instance_and_is_idempotent(
    provider: AwsProvider, cfn: Any, ec2: Any, ami: str, root_device: str
) -> None:
    resource = cfn_resource(ami, root_device, ports=[Port(name="http", port=80)])
    artifacts = rendered(resource)
    provider.apply(change_for(provider, Op.create, resource), resource, artifacts)
    delete = Change(op=Op.delete, resource="web", provider="cloud", provider_type="aws", reason="gone")
    provider.apply(delete, resource, None)
    assert provider.observe().owned(LAB) == {}
    stacks = cfn.list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in stacks if s["StackName"] == "homeport-home-web"} == {"DELETE_COMPLETE"}
    assert "already absent" in provider.apply(delete, resource, None).message


def test_cloudformation_without_the_chart_template_says_what_to_do(
    provider: AwsProvider, ami: str, root_device: str
) -> None:
    resource = cfn_resource(ami, root_device)
    with pytest.raises(PermanentProviderError, match=r"aws-ec2 chart's template\.yaml"):
        provider.apply(change_for(provider, Op.create, resource), resource, None)


def test_an_instance_terminated_out_of_band_brings_a_new_stack(
    provider: AwsProvider, cfn: Any, ec2: Any, ami: str, root_device: str
) -> None:
    resource = cfn_resource(ami, root_device)
    artifacts = rendered(resource)
    first = provider.apply(change_for(provider, Op.create, resource), resource, artifacts)
    ec2.terminate_instances(InstanceIds=[first.provider_id])
    assert provider.observe().owned(LAB) == {}
    # The planner now sees nothing and asks for a create; the stack still exists.
    again = provider.apply(change_for(provider, Op.create, resource), resource, artifacts)
    assert f"instance {first.provider_id} was gone" in again.message
    observed = provider.observe().owned(LAB)["web"]
    assert observed.id == again.provider_id != first.provider_id
    assert cfn.describe_stacks(StackName="homeport-home-web")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
