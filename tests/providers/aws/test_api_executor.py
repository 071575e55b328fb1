"""The `api` executor against moto's server: create, idempotency, in-place updates, replace, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.models.plan import Change, Op
from reconciler.models.resource import Disk, Port
from reconciler.plan.diff import diff_fields
from reconciler.providers.aws import AwsProvider
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, RESOURCE_LABEL
from reconciler.providers.errors import PermanentProviderError
from tests.providers.aws.conftest import LAB, make_provider, make_resource


def change_for(provider: AwsProvider, op: Op, resource: Any) -> Change:
    """A change as the planner builds it: op plus the provider's desired fields."""
    return Change(
        op=op,
        resource=resource.name,
        provider="cloud",
        provider_type="aws",
        reason=f"{op.value} {resource.name}",
        desired=provider.desired_fields(resource),
    )


def live_instances(ec2: Any) -> list[dict[str, Any]]:
    """Every instance that is not terminated, straight from EC2."""
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


@pytest.fixture
def provider(moto_endpoint: str, tmp_path: Path) -> AwsProvider:
    """An api-executor provider on moto."""
    return make_provider(moto_endpoint, tmp_path)


def test_create_launches_a_tagged_instance_with_its_security_group_and_ebs_volumes(
    provider: AwsProvider, ec2: Any, ami: str
) -> None:
    resource = make_resource(
        "web",
        ami,
        cpu=2,
        memory_gb=4,
        storage_gb=30,
        disks=[Disk(name="data", size=50)],
        ports=[Port(name="ssh", port=22)],
    )
    result = provider.apply(change_for(provider, Op.create, resource), resource, None)

    [instance] = live_instances(ec2)
    assert result.provider_id == instance["InstanceId"]
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags[OWNER_LABEL] == "homeport" and tags[LAB_LABEL] == LAB and tags[RESOURCE_LABEL] == "web"
    assert tags["app"] == "web" and tags["Name"] == "web"
    assert instance["InstanceType"] == "t3.medium"
    [group] = ec2.describe_security_groups(GroupIds=[g["GroupId"] for g in instance["SecurityGroups"]])[
        "SecurityGroups"
    ]
    assert group["GroupName"] == "homeport-home-web"
    assert [(p["IpProtocol"], p["FromPort"]) for p in group["IpPermissions"]] == [("tcp", 22)]
    sizes = {
        m["DeviceName"]: ec2.describe_volumes(VolumeIds=[m["Ebs"]["VolumeId"]])["Volumes"][0]["Size"]
        for m in instance["BlockDeviceMappings"]
    }
    assert sizes == {instance["RootDeviceName"]: 30, "/dev/sdf": 50}

    observed = provider.observe().owned(LAB)["web"]
    assert observed.id == instance["InstanceId"] and observed.node == "us-east-1"
    # observe() speaks desired_fields()'s vocabulary: nothing left to change.
    assert diff_fields(provider.desired_fields(resource), observed.fields, None, provider.diff_rules) == []


def test_create_twice_makes_one_instance_and_says_so(provider: AwsProvider, ec2: Any, ami: str) -> None:
    resource = make_resource("web", ami)
    first = provider.apply(change_for(provider, Op.create, resource), resource, None)
    second = provider.apply(change_for(provider, Op.create, resource), resource, None)
    assert len(live_instances(ec2)) == 1
    assert second.provider_id == first.provider_id
    assert "already existed" in second.message


def test_instance_type_change_stops_then_modifies_then_starts(provider: AwsProvider, ec2: Any, ami: str) -> None:
    resource = make_resource("web", ami, cpu=2, memory_gb=4)
    provider.apply(change_for(provider, Op.create, resource), resource, None)
    bigger = make_resource("web", ami, cpu=4, memory_gb=16)

    # moto lets a running instance change type (AWS refuses), so record the instance's state at
    # the moment ModifyInstanceAttribute is sent, seen from outside the provider.
    state_at_modify: list[str] = []

    def before_modify(**_: Any) -> None:
        [inst] = live_instances(ec2)
        state_at_modify.append(inst["State"]["Name"])

    client = provider.ec2("us-east-1")
    client.meta.events.register("before-call.ec2.ModifyInstanceAttribute", before_modify)
    start = len(provider.clients.calls)
    result = provider.apply(change_for(provider, Op.update, bigger), bigger, None)

    calls = [c.split(":")[1] for c in provider.clients.calls[start:]]
    mutating = [c for c in calls if not c.startswith("Describe")]
    assert mutating == ["StopInstances", "ModifyInstanceAttribute", "StartInstances"]
    assert calls.index("StopInstances") < calls.index("ModifyInstanceAttribute") < calls.index("StartInstances")
    assert state_at_modify == ["stopped"]
    [inst] = live_instances(ec2)
    assert inst["InstanceType"] == "t3.xlarge" and inst["State"]["Name"] == "running"
    assert "t3.medium -> t3.xlarge" in result.message


def test_tags_volumes_and_ingress_converge_in_place(provider: AwsProvider, ec2: Any, ami: str) -> None:
    resource = make_resource("web", ami, storage_gb=20, disks=[Disk(name="data", size=10)])
    created = provider.apply(change_for(provider, Op.create, resource), resource, None)
    changed = make_resource(
        "web",
        ami,
        storage_gb=20,
        disks=[Disk(name="data", size=40), Disk(name="logs", size=5)],
        ports=[Port(name="http", port=80)],
        labels={"app": "web", "team": "ops"},
    )
    start = len(provider.clients.calls)
    provider.apply(change_for(provider, Op.update, changed), changed, None)
    calls = [c.split(":")[1] for c in provider.clients.calls[start:]]
    assert "StopInstances" not in calls and "TerminateInstances" not in calls
    [inst] = live_instances(ec2)
    assert inst["InstanceId"] == created.provider_id
    observed = provider.observe().owned(LAB)["web"]
    assert diff_fields(provider.desired_fields(changed), observed.fields, None, provider.diff_rules) == []
    assert observed.fields["tags"] == {"app": "web", "team": "ops"}


def test_shrinking_a_volume_is_refused_with_a_remedy(provider: AwsProvider, ami: str) -> None:
    resource = make_resource("web", ami, disks=[Disk(name="data", size=40)])
    provider.apply(change_for(provider, Op.create, resource), resource, None)
    smaller = make_resource("web", ami, disks=[Disk(name="data", size=10)])
    with pytest.raises(PermanentProviderError, match="cannot shrink"):
        provider.apply(change_for(provider, Op.update, smaller), smaller, None)


def test_stopped_out_of_band_is_started_again(provider: AwsProvider, ec2: Any, ami: str) -> None:
    resource = make_resource("web", ami)
    created = provider.apply(change_for(provider, Op.create, resource), resource, None)
    ec2.stop_instances(InstanceIds=[created.provider_id])
    observed = provider.observe().owned(LAB)["web"]
    changes = diff_fields(provider.desired_fields(resource), observed.fields, None, provider.diff_rules)
    assert [(c.path, c.old, c.new) for c in changes] == [("state", "stopped", "running")]
    provider.apply(change_for(provider, Op.update, resource), resource, None)
    assert live_instances(ec2)[0]["State"]["Name"] == "running"


def test_ami_change_replaces_the_instance_and_keeps_its_data_disks(
    provider: AwsProvider, ec2: Any, ami: str, second_ami: str
) -> None:
    resource = make_resource("web", ami, storage_gb=10, disks=[Disk(name="data", size=20)])
    old = provider.apply(change_for(provider, Op.create, resource), resource, None)
    [before] = live_instances(ec2)
    data_volume = next(m["Ebs"]["VolumeId"] for m in before["BlockDeviceMappings"] if m["DeviceName"] == "/dev/sdf")
    newer = make_resource("web", second_ami, storage_gb=10, disks=[Disk(name="data", size=20)])
    observed = provider.observe().owned(LAB)["web"]
    [field] = diff_fields(provider.desired_fields(newer), observed.fields, None, provider.diff_rules)
    assert field.path == "ami" and field.forces_replacement
    new = provider.apply(change_for(provider, Op.replace, newer), newer, None)
    [inst] = live_instances(ec2)
    assert inst["InstanceId"] == new.provider_id != old.provider_id
    assert inst["ImageId"] == second_ami
    # The data disk moved to the new instance; the old root disk went with the old instance.
    mappings = {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in inst["BlockDeviceMappings"]}
    assert mappings["/dev/sdf"] == data_volume
    assert "kept data disks data" in new.message
    observed = provider.observe().owned(LAB)["web"]
    assert diff_fields(provider.desired_fields(newer), observed.fields, None, provider.diff_rules) == []


def test_a_data_disk_left_detached_is_reattached_or_cleaned_up(provider: AwsProvider, ec2: Any, ami: str) -> None:
    resource = make_resource("web", ami, disks=[Disk(name="data", size=20)])
    provider.apply(change_for(provider, Op.create, resource), resource, None)
    [inst] = live_instances(ec2)
    data_volume = next(m["Ebs"]["VolumeId"] for m in inst["BlockDeviceMappings"] if m["DeviceName"] == "/dev/sdf")
    # As if a replace died between detaching the disk and launching the new instance.
    ec2.detach_volume(VolumeId=data_volume, InstanceId=inst["InstanceId"])
    provider.apply(change_for(provider, Op.update, resource), resource, None)
    [inst] = live_instances(ec2)
    assert {m["Ebs"]["VolumeId"] for m in inst["BlockDeviceMappings"]} >= {data_volume}

    ec2.detach_volume(VolumeId=data_volume, InstanceId=inst["InstanceId"])
    delete = Change(op=Op.delete, resource="web", provider="cloud", provider_type="aws", reason="gone")
    result = provider.apply(delete, None, None)
    assert f"deleted detached disk data ({data_volume})" in result.message
    assert ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [data_volume]}])["Volumes"] == []


def test_delete_terminates_and_removes_the_security_group_and_is_idempotent(
    provider: AwsProvider, ec2: Any, ami: str
) -> None:
    resource = make_resource("web", ami, ports=[Port(name="ssh", port=22)])
    provider.apply(change_for(provider, Op.create, resource), resource, None)
    delete = Change(op=Op.delete, resource="web", provider="cloud", provider_type="aws", reason="gone")
    provider.apply(delete, None, None)
    assert live_instances(ec2) == []
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["homeport-home-web"]}])
    assert groups["SecurityGroups"] == []
    again = provider.apply(delete, None, None)
    assert "already absent" in again.message
    # Recreating after a delete uses a new ClientToken generation.
    assert provider.ctx.state.get("generation/web") == 2
    created = provider.apply(change_for(provider, Op.create, resource), resource, None)
    assert [i["InstanceId"] for i in live_instances(ec2)] == [created.provider_id]


def test_unowned_instances_are_reported_and_never_touched(provider: AwsProvider, ec2: Any, ami: str) -> None:
    foreign = ec2.run_instances(
        ImageId=ami,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [
                    {"Key": OWNER_LABEL, "Value": "homeport"},
                    {"Key": LAB_LABEL, "Value": "other-lab"},
                    {"Key": RESOURCE_LABEL, "Value": "web"},
                ],
            }
        ],
    )["Instances"][0]
    inventory = provider.observe()
    assert inventory.owned(LAB) == {}
    [unmanaged] = inventory.unmanaged(LAB)
    assert unmanaged.id == foreign["InstanceId"] and not unmanaged.owned and unmanaged.lab == "other-lab"
    # Deleting "web" in this lab must not terminate the other lab's "web".
    provider.apply(Change(op=Op.delete, resource="web", provider="cloud", provider_type="aws", reason="x"), None, None)
    assert [i["InstanceId"] for i in live_instances(ec2)] == [foreign["InstanceId"]]


def test_observe_all_instances_reports_untagged_ones_as_unowned(
    moto_endpoint: str, tmp_path: Path, ec2: Any, ami: str
) -> None:
    provider = make_provider(moto_endpoint, tmp_path, observe_all_instances=True)
    plain = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]
    [unmanaged] = provider.observe().unmanaged(LAB)
    assert unmanaged.name == plain["InstanceId"] and unmanaged.owned is False and unmanaged.lab is None


def test_a_pool_region_is_used_and_remembered_for_observe(provider: AwsProvider, ami: str) -> None:
    west_ec2 = provider.ec2("us-west-2")
    images = west_ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "root-device-type", "Values": ["ebs"]}])
    west_ami = sorted(i["ImageId"] for i in images["Images"] if i.get("Platform") != "windows")[0]
    resource = make_resource("edge", west_ami)
    resource.properties["region"] = "us-west-2"
    created = provider.apply(change_for(provider, Op.create, resource), resource, None)
    assert created.node == "us-west-2"
    inventory = provider.observe()
    assert sorted(n.name for n in inventory.nodes) == ["us-east-1", "us-west-2"]
    observed = inventory.owned(LAB)["edge"]
    assert observed.node == "us-west-2" and observed.id == created.provider_id
    assert diff_fields(provider.desired_fields(resource), observed.fields, None, provider.diff_rules) == []


def test_a_region_change_terminates_the_old_instance_where_it_lives(provider: AwsProvider, ec2: Any, ami: str) -> None:
    resource = make_resource("web", ami)
    old = provider.apply(change_for(provider, Op.create, resource), resource, None)
    west = provider.ec2("us-west-2")
    images = west.describe_images(Owners=["amazon"], Filters=[{"Name": "root-device-type", "Values": ["ebs"]}])
    west_ami = sorted(i["ImageId"] for i in images["Images"] if i.get("Platform") != "windows")[0]
    moved = make_resource("web", west_ami)
    moved.properties["region"] = "us-west-2"
    observed = provider.observe().owned(LAB)["web"]
    paths = {
        c.path
        for c in diff_fields(provider.desired_fields(moved), observed.fields, None, provider.diff_rules)
        if c.forces_replacement
    }
    assert paths == {"region", "ami"}
    new = provider.apply(change_for(provider, Op.replace, moved), moved, None)
    assert live_instances(ec2) == []
    assert new.node == "us-west-2" and new.provider_id != old.provider_id
    assert provider.observe().owned(LAB)["web"].node == "us-west-2"


def test_rename_moves_the_tags_and_keeps_the_instance(provider: AwsProvider, ec2: Any, ami: str) -> None:
    resource = make_resource("old-name", ami, ports=[Port(name="ssh", port=22)])
    created = provider.apply(change_for(provider, Op.create, resource), resource, None)
    renamed = make_resource("new-name", ami, ports=[Port(name="ssh", port=22)], labels={"app": "old-name"})
    change = change_for(provider, Op.rename, renamed)
    change.previous_name = "old-name"
    result = provider.apply(change, renamed, None)
    [inst] = live_instances(ec2)
    assert inst["InstanceId"] == created.provider_id == result.provider_id
    assert {t["Key"]: t["Value"] for t in inst["Tags"]}[RESOURCE_LABEL] == "new-name"
    owned = provider.observe().owned(LAB)
    assert list(owned) == ["new-name"]
    assert diff_fields(provider.desired_fields(renamed), owned["new-name"].fields, None, provider.diff_rules) == []


def test_the_chart_cloud_init_user_data_is_used_at_launch(provider: AwsProvider, ec2: Any, ami: str) -> None:
    import base64

    from tests.providers.aws.test_cfn_executor import rendered

    resource = make_resource("web", ami, disks=[Disk(name="data", size=20)])
    artifacts = rendered(resource)
    created = provider.apply(change_for(provider, Op.create, resource), resource, artifacts)
    attribute = ec2.describe_instance_attribute(InstanceId=created.provider_id, Attribute="userData")
    user_data = base64.b64decode(attribute["UserData"]["Value"]).decode()
    assert user_data.startswith("#cloud-config") and "hostname: web" in user_data
    assert "/srv/data" in user_data


def test_dropped_tags_are_removed_and_dropped_disks_detached_but_kept(
    provider: AwsProvider, ec2: Any, ami: str
) -> None:
    before = make_resource(
        "web", ami, disks=[Disk(name="data", size=10), Disk(name="logs", size=5)], labels={"app": "web", "team": "ops"}
    )
    provider.apply(change_for(provider, Op.create, before), before, None)
    last_applied = provider.desired_fields(before)
    after = make_resource("web", ami, disks=[Disk(name="data", size=10)], labels={"app": "web"})
    observed = provider.observe().owned(LAB)["web"]
    fields = diff_fields(provider.desired_fields(after), observed.fields, last_applied, provider.diff_rules)
    assert {f.path for f in fields} == {"tags.team", "volumes[/dev/sdg]"}
    change = change_for(provider, Op.update, after)
    change.fields = fields
    provider.apply(change, after, None)
    observed = provider.observe().owned(LAB)["web"]
    assert diff_fields(provider.desired_fields(after), observed.fields, last_applied, provider.diff_rules) == []
    kept = ec2.describe_volumes(Filters=[{"Name": "tag:homeport.disk", "Values": ["logs"]}])["Volumes"]
    assert [v["State"] for v in kept] == ["available"]


def test_ingress_rules_are_revoked_as_they_exist_and_added_with_the_resource_cidr(
    provider: AwsProvider, ec2: Any, ami: str
) -> None:
    resource = make_resource("web", ami, ports=[Port(name="ssh", port=22), Port(name="http", port=80)])
    resource.properties["ingress_cidr"] = "192.168.0.0/16"
    provider.apply(change_for(provider, Op.create, resource), resource, None)
    changed = make_resource("web", ami, ports=[Port(name="http", port=80), Port(name="dns", port=53, protocol="udp")])
    changed.properties["ingress_cidr"] = "172.16.0.0/12"
    provider.apply(change_for(provider, Op.update, changed), changed, None)
    [group] = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["homeport-home-web"]}])[
        "SecurityGroups"
    ]
    rules = sorted(
        (p["IpProtocol"], p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]
    )
    assert rules == [("tcp", 80, ["192.168.0.0/16"]), ("udp", 53, ["172.16.0.0/12"])]
