"""The `api` executor: direct EC2 calls. The only code (with apply_cloudformation) that changes AWS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.providers.aws.apply_cloudformation import TEMPLATE_FILES, template_user_data
from reconciler.providers.aws.errors import aws_call
from reconciler.providers.aws.facts import ingress_rules, instance_fields, tag_dict
from reconciler.providers.aws.fields import (
    DISK_TAG,
    ROOT_DEVICE,
    aws_settings,
    client_token,
    ownership_tags,
    security_group_name,
)
from reconciler.providers.aws.observe import list_instances, list_security_groups, list_volumes, owned_filters
from reconciler.providers.base import RESOURCE_LABEL, ApplyResult, ProviderState, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError


@dataclass(frozen=True)
class LaunchOptions:
    """Launch-time settings that are not compared fields: SSH key pair and cloud-init user data."""

    key_name: str | None = None
    user_data: str | None = None


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


@dataclass
class ApiExecutor:
    """Creates, converges and deletes one EC2 instance (plus its security group and EBS volumes)."""

    ec2: Any
    lab: str
    state: ProviderState
    ingress_cidr: str = "10.0.0.0/8"
    waiter_delay: int = 5
    waiter_attempts: int = 120

    # -- lookups --------------------------------------------------------------------------
    def find_instance(self, name: str) -> dict[str, Any] | None:
        """This lab's live instance called name (tags decide, so a crash after create is seen)."""
        found = list_instances(self.ec2, owned_filters(self.lab, name))
        if len(found) > 1:
            ids = ", ".join(sorted(inst["InstanceId"] for inst in found))
            raise PermanentProviderError(
                f"{name}: more than one live instance carries this lab's tags ({ids}); terminate the extra "
                "ones by hand, homeport will not guess which to keep"
            )
        return found[0] if found else None

    def _generation_key(self, name: str) -> str:
        return f"generation/{name}"

    def generation(self, name: str) -> int:
        """How many times this resource has been deleted (part of its ClientToken)."""
        return int(self.state.get(self._generation_key(name)) or 0)

    def _bump_generation(self, name: str) -> None:
        self.state.put(self._generation_key(name), self.generation(name) + 1)

    # -- security group -------------------------------------------------------------------
    def ensure_security_group(self, name: str, desired: dict[str, Any]) -> str:
        """The resource's own security group, created and tagged if missing, ingress converged."""
        group_name = security_group_name(self.lab, name)
        groups = list_security_groups(self.ec2, owned_filters(self.lab, name))
        if groups:
            group = next(iter(groups.values()))
        else:
            vpc_filters = [{"Name": "subnet-id", "Values": [desired["subnet_id"]]}] if desired.get("subnet_id") else []
            kwargs: dict[str, Any] = {
                "GroupName": group_name,
                "Description": f"homeport {self.lab}/{name}",
                "TagSpecifications": [
                    {"ResourceType": "security-group", "Tags": _tag_list(ownership_tags(self.lab, name))}
                ],
            }
            if vpc_filters:
                subnets = aws_call("describe subnets", self.ec2.describe_subnets, Filters=vpc_filters)
                if not subnets.get("Subnets"):
                    raise PermanentProviderError(
                        f"{name}: subnet {desired['subnet_id']} does not exist in {desired.get('region')}; "
                        "fix subnet_id in the pool's properties or the resource's overrides.aws"
                    )
                kwargs["VpcId"] = subnets["Subnets"][0]["VpcId"]
            created = aws_call("create security group", self.ec2.create_security_group, **kwargs)
            group = {"GroupId": created["GroupId"], "IpPermissions": []}
        self.converge_ingress(group, desired.get("ingress", []))
        return str(group["GroupId"])

    def converge_ingress(self, group: dict[str, Any], wanted: list[str]) -> None:
        """Authorize missing 'proto:port' rules and revoke ones no longer wanted."""
        have = set(ingress_rules(group))
        add, remove = sorted(set(wanted) - have), sorted(have - set(wanted))

        def perms(rules: list[str]) -> list[dict[str, Any]]:
            out = []
            for rule in rules:
                proto, port = rule.split(":")
                out.append(
                    {
                        "IpProtocol": proto,
                        "FromPort": int(port),
                        "ToPort": int(port),
                        "IpRanges": [{"CidrIp": self.ingress_cidr}],
                    }
                )
            return out

        if add:
            aws_call(
                "authorize ingress",
                self.ec2.authorize_security_group_ingress,
                GroupId=group["GroupId"],
                IpPermissions=perms(add),
            )
        if remove:
            # Revoke the rules exactly as they exist (their own address ranges), not as we would write them.
            existing = [
                perm
                for perm in group.get("IpPermissions", [])
                if f"{perm.get('IpProtocol')}:{perm.get('FromPort')}" in remove
                and perm.get("FromPort") == perm.get("ToPort")
            ]
            aws_call(
                "revoke ingress",
                self.ec2.revoke_security_group_ingress,
                GroupId=group["GroupId"],
                IpPermissions=[
                    {
                        k: v
                        for k, v in perm.items()
                        if k
                        in (
                            "IpProtocol",
                            "FromPort",
                            "ToPort",
                            "IpRanges",
                            "Ipv6Ranges",
                            "UserIdGroupPairs",
                            "PrefixListIds",
                        )
                        and v != []
                    }
                    for perm in existing
                ],
            )

    # -- create ---------------------------------------------------------------------------
    def block_devices(self, desired: dict[str, Any], skip: set[str] | None = None) -> list[dict[str, Any]]:
        """BlockDeviceMappings for run_instances (disks named in skip are attached afterwards)."""
        mappings = []
        for volume in desired.get("volumes", []):
            if volume.get("name") and volume["name"] in (skip or set()):
                continue
            device = volume["device"]
            if device == ROOT_DEVICE:
                image = aws_call("describe image", self.ec2.describe_images, ImageIds=[desired["ami"]])
                if not image.get("Images"):
                    raise PermanentProviderError(f"AMI {desired['ami']} does not exist in {desired['region']}")
                device = image["Images"][0].get("RootDeviceName", "/dev/xvda")
            mappings.append(
                {
                    "DeviceName": device,
                    "Ebs": {
                        "VolumeSize": int(volume["size_gb"]),
                        "VolumeType": volume.get("type", "gp3"),
                        "DeleteOnTermination": True,
                    },
                }
            )
        return mappings

    def create(self, name: str, desired: dict[str, Any], launch: LaunchOptions | None = None) -> ApplyResult:
        """Launch the instance unless it already exists; the ClientToken makes a retried call safe."""
        existing = self.find_instance(name)
        if existing is not None:
            result = self.converge(existing, desired)
            result.message = f"instance {existing['InstanceId']} already existed; " + result.message
            return result
        group_id = self.ensure_security_group(name, desired)
        tags = {**desired.get("tags", {}), **ownership_tags(self.lab, name)}
        wanted_disks = {v["name"] for v in desired.get("volumes", []) if v.get("name")}
        kept = {disk: vol for disk, vol in self.detached_disks(name).items() if disk in wanted_disks}
        kwargs: dict[str, Any] = {
            "ImageId": desired["ami"],
            "InstanceType": desired["instance_type"],
            "MinCount": 1,
            "MaxCount": 1,
            "SecurityGroupIds": [group_id],
            "BlockDeviceMappings": self.block_devices(desired, skip=set(kept)),
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": _tag_list(tags)},
                {"ResourceType": "volume", "Tags": _tag_list(ownership_tags(self.lab, name))},
            ],
        }
        if desired.get("subnet_id"):
            kwargs["SubnetId"] = desired["subnet_id"]
        launch = launch or LaunchOptions()
        if launch.key_name:
            kwargs["KeyName"] = launch.key_name
        if launch.user_data:
            kwargs["UserData"] = launch.user_data
        if not kwargs["BlockDeviceMappings"]:
            del kwargs["BlockDeviceMappings"]
        zones = sorted({vol["AvailabilityZone"] for vol in kept.values()})
        if len(zones) > 1:
            raise PermanentProviderError(
                f"{name}: its kept data volumes are in different availability zones ({', '.join(zones)}); "
                "move them into one zone (snapshot and restore) so one instance can attach them all"
            )
        if zones and not desired.get("subnet_id"):
            # An EBS volume attaches only in its own zone: launch where the kept disks are.
            kwargs["Placement"] = {"AvailabilityZone": zones[0]}
        for _attempt in range(3):
            token = client_token(self.lab, name, desired["region"], desired["ami"], self.generation(name))
            response = aws_call("run instances", self.ec2.run_instances, ClientToken=token, **kwargs)
            instance = response["Instances"][0]
            if instance.get("State", {}).get("Name") not in ("shutting-down", "terminated"):
                break
            # The token still names an instance deleted earlier (the generation was lost): move on.
            self._bump_generation(name)
        else:
            raise PermanentProviderError(f"{name}: run_instances keeps returning terminated instances")
        self._tag_data_volumes(instance, desired)
        reattached = self._attach_kept(instance["InstanceId"], kept, desired)
        return ApplyResult(
            provider_id=instance["InstanceId"],
            node=desired["region"],
            message=f"launched {instance['InstanceId']} ({desired['instance_type']}, {desired['ami']})"
            + (f"; reattached data disks {', '.join(reattached)}" if reattached else ""),
            outputs={"instance_id": instance["InstanceId"], "security_group_id": group_id},
        )

    def detached_disks(self, name: str) -> dict[str, dict[str, Any]]:
        """This resource's data volumes left unattached (by a replace), by disk name."""
        filters = [*owned_filters(self.lab, name), {"Name": "status", "Values": ["available"]}]
        found = {}
        for volume in list_volumes(self.ec2, filters=filters).values():
            disk = tag_dict(volume.get("Tags")).get(DISK_TAG)
            if disk:
                found[disk] = volume
        return found

    def _attach_kept(self, instance_id: str, kept: dict[str, dict[str, Any]], desired: dict[str, Any]) -> list[str]:
        if not kept:
            return []
        # AWS attaches to running or stopped instances only, not pending ones.
        self._wait("instance_running", instance_id)
        devices = {v["name"]: v["device"] for v in desired.get("volumes", []) if v.get("name")}
        for disk, volume in sorted(kept.items()):
            aws_call(
                "attach kept volume",
                self.ec2.attach_volume,
                VolumeId=volume["VolumeId"],
                InstanceId=instance_id,
                Device=devices[disk],
            )
        return sorted(kept)

    def detach_data_disks(self, instance: dict[str, Any]) -> list[str]:
        """Stop the instance and detach homeport's data disks from it, so a replacement keeps them."""
        root = instance.get("RootDeviceName")
        attached = {
            m["Ebs"]["VolumeId"]: m["DeviceName"]
            for m in instance.get("BlockDeviceMappings", [])
            if m.get("Ebs", {}).get("VolumeId") and m.get("DeviceName") != root
        }
        if not attached:
            return []
        volumes = list_volumes(self.ec2, volume_ids=sorted(attached))
        disks = {vid: tag_dict(vol.get("Tags")).get(DISK_TAG) for vid, vol in volumes.items()}
        ours = sorted(vid for vid, disk in disks.items() if disk)
        if not ours:
            return []
        if instance.get("State", {}).get("Name") != "stopped":
            aws_call("stop instance", self.ec2.stop_instances, InstanceIds=[instance["InstanceId"]])
            self._wait("instance_stopped", instance["InstanceId"])
        for volume_id in ours:
            aws_call("detach volume", self.ec2.detach_volume, VolumeId=volume_id, InstanceId=instance["InstanceId"])
        aws_call(
            "wait for volumes",
            self.ec2.get_waiter("volume_available").wait,
            VolumeIds=ours,
            WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": self.waiter_attempts},
        )
        return sorted(str(disks[vid]) for vid in ours)

    def replace(self, name: str, desired: dict[str, Any], launch: LaunchOptions | None = None) -> ApplyResult:
        """Terminate and launch anew, keeping homeport's data disks: detached first, reattached after."""
        instance = self.find_instance(name)
        kept = self.detach_data_disks(instance) if instance is not None else []
        removed = self.delete(name, keep_detached=True)
        created = self.create(name, desired, launch)
        note = f"kept data disks {', '.join(kept)}; " if kept else ""
        created.message = f"{note}{removed.message}; {created.message}"
        return created

    def _tag_data_volumes(self, instance: dict[str, Any], desired: dict[str, Any]) -> None:
        names = {v["device"]: v.get("name") for v in desired.get("volumes", []) if v.get("name")}
        for mapping in instance.get("BlockDeviceMappings", []):
            disk = names.get(mapping.get("DeviceName"))
            volume_id = (mapping.get("Ebs") or {}).get("VolumeId")
            if disk and volume_id:
                aws_call(
                    "tag volume",
                    self.ec2.create_tags,
                    Resources=[volume_id],
                    Tags=[{"Key": DISK_TAG, "Value": disk}],
                )

    # -- update ---------------------------------------------------------------------------
    def describe(self, instance_id: str) -> dict[str, Any]:
        """One instance by id."""
        response = aws_call("describe instance", self.ec2.describe_instances, InstanceIds=[instance_id])
        return dict(response["Reservations"][0]["Instances"][0])

    def _wait(self, waiter_name: str, instance_id: str) -> None:
        waiter = self.ec2.get_waiter(waiter_name)
        aws_call(
            f"wait for {waiter_name.replace('_', ' ')}",
            waiter.wait,
            InstanceIds=[instance_id],
            WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": self.waiter_attempts},
        )

    def converge(
        self, instance: dict[str, Any], desired: dict[str, Any], removed: list[str] | None = None
    ) -> ApplyResult:
        """Bring a live instance to the desired fields in place: tags, volumes, ingress, type, state.

        `removed`: field paths the plan drops since the last apply ('tags.team', 'volumes[/dev/sdg]'):
        such tags are deleted, such disks detached (kept, reattached if the disk comes back).
        """
        instance_id = instance["InstanceId"]
        name = tag_dict(instance.get("Tags")).get(RESOURCE_LABEL, instance_id)
        region = desired["region"]
        groups = list_security_groups(self.ec2, owned_filters(self.lab, name))
        volumes = list_volumes(self.ec2, filters=owned_filters(self.lab, name))
        current = instance_fields(instance, region, volumes, groups)
        done: list[str] = []

        tags_to_set = {k: v for k, v in desired.get("tags", {}).items() if current["tags"].get(k) != v}
        if tags_to_set:
            aws_call("tag instance", self.ec2.create_tags, Resources=[instance_id], Tags=_tag_list(tags_to_set))
            done.append(f"tags {', '.join(sorted(tags_to_set))}")

        if set(desired.get("ingress", [])) != set(current["ingress"]):
            self.ensure_security_group(name, desired)
            done.append("ingress " + ", ".join(desired.get("ingress", [])))

        done.extend(self._converge_volumes(instance_id, name, current, desired))
        done.extend(self._remove(instance_id, current, removed or []))

        wanted_state = desired.get("state", "running")
        state = current["state"]
        if desired.get("instance_type") and desired["instance_type"] != current["instance_type"]:
            # AWS refuses to change the type of a running instance: stop, modify, then start.
            if state != "stopped":
                aws_call("stop instance", self.ec2.stop_instances, InstanceIds=[instance_id])
                self._wait("instance_stopped", instance_id)
                state = "stopped"
            aws_call(
                "modify instance type",
                self.ec2.modify_instance_attribute,
                InstanceId=instance_id,
                InstanceType={"Value": desired["instance_type"]},
            )
            done.append(f"instance type {current['instance_type']} -> {desired['instance_type']}")
        if wanted_state == "running" and state != "running":
            aws_call("start instance", self.ec2.start_instances, InstanceIds=[instance_id])
            done.append("started")
        elif wanted_state == "stopped" and state != "stopped":
            aws_call("stop instance", self.ec2.stop_instances, InstanceIds=[instance_id])
            done.append("stopped")
        message = "; ".join(done) if done else f"instance {instance_id} already matches"
        return ApplyResult(provider_id=instance_id, node=region, message=message)

    def _remove(self, instance_id: str, current: dict[str, Any], removed: list[str]) -> list[str]:
        done = []
        tags = sorted(path.removeprefix("tags.") for path in removed if path.startswith("tags."))
        tags = [key for key in tags if key in current["tags"]]
        if tags:
            aws_call(
                "untag instance", self.ec2.delete_tags, Resources=[instance_id], Tags=[{"Key": key} for key in tags]
            )
            done.append(f"removed tags {', '.join(tags)}")
        by_device = {v["device"]: v for v in current["volumes"]}
        for path in removed:
            if not (path.startswith("volumes[") and path.endswith("]")):
                continue
            live = by_device.get(path[len("volumes[") : -1])
            if live is None or live["device"] == ROOT_DEVICE or not live.get("volume_id"):
                continue
            aws_call("detach volume", self.ec2.detach_volume, VolumeId=live["volume_id"], InstanceId=instance_id)
            done.append(f"detached {live['device']} (volume {live['volume_id']} kept)")
        return done

    def _converge_volumes(
        self, instance_id: str, name: str, current: dict[str, Any], desired: dict[str, Any]
    ) -> list[str]:
        have = {v["device"]: v for v in current["volumes"]}
        done = []
        for volume in desired.get("volumes", []):
            live = have.get(volume["device"])
            if live is None:
                if volume["device"] == ROOT_DEVICE:
                    continue
                kept = self.detached_disks(name).get(volume.get("name", ""))
                if kept is not None:
                    aws_call(
                        "attach kept volume",
                        self.ec2.attach_volume,
                        VolumeId=kept["VolumeId"],
                        InstanceId=instance_id,
                        Device=volume["device"],
                    )
                    done.append(f"reattached data disk {volume['name']} at {volume['device']}")
                    continue
                created = aws_call(
                    "create volume",
                    self.ec2.create_volume,
                    AvailabilityZone=self.describe(instance_id)["Placement"]["AvailabilityZone"],
                    Size=int(volume["size_gb"]),
                    VolumeType=volume.get("type", "gp3"),
                    TagSpecifications=[
                        {
                            "ResourceType": "volume",
                            "Tags": _tag_list(
                                {
                                    **ownership_tags(self.lab, name),
                                    **({DISK_TAG: volume["name"]} if volume.get("name") else {}),
                                }
                            ),
                        }
                    ],
                )
                aws_call(
                    "wait for volume",
                    self.ec2.get_waiter("volume_available").wait,
                    VolumeIds=[created["VolumeId"]],
                    WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": self.waiter_attempts},
                )
                aws_call(
                    "attach volume",
                    self.ec2.attach_volume,
                    VolumeId=created["VolumeId"],
                    InstanceId=instance_id,
                    Device=volume["device"],
                )
                done.append(f"attached {volume['size_gb']} GiB at {volume['device']}")
                continue
            size = live.get("size_gb")
            if size is not None and int(volume["size_gb"]) > int(size):
                aws_call(
                    "grow volume",
                    self.ec2.modify_volume,
                    VolumeId=live["volume_id"],
                    Size=int(volume["size_gb"]),
                )
                done.append(f"grew {volume['device']} {size} -> {volume['size_gb']} GiB")
            elif size is not None and int(volume["size_gb"]) < int(size):
                raise PermanentProviderError(
                    f"EBS volumes cannot shrink: {volume['device']} is {size} GiB, the definition asks for "
                    f"{volume['size_gb']} GiB; keep the size or replace the resource"
                )
        return done

    # -- delete ---------------------------------------------------------------------------
    def delete(self, name: str, keep_detached: bool = False) -> ApplyResult:
        """Terminate this lab's instance called name, then its security group; fine when already gone.

        Data disks still detached from an interrupted replace are deleted too, unless keep_detached.
        """
        instance = self.find_instance(name)
        done = []
        instance_id = None
        if instance is not None:
            instance_id = instance["InstanceId"]
            aws_call("terminate instance", self.ec2.terminate_instances, InstanceIds=[instance_id])
            self._wait("instance_terminated", instance_id)
            done.append(f"terminated {instance_id}")
        for group_id in list_security_groups(self.ec2, owned_filters(self.lab, name)):
            aws_call("delete security group", self.ec2.delete_security_group, GroupId=group_id)
            done.append(f"deleted security group {group_id}")
        if not keep_detached:
            for disk, volume in sorted(self.detached_disks(name).items()):
                aws_call("delete volume", self.ec2.delete_volume, VolumeId=volume["VolumeId"])
                done.append(f"deleted detached disk {disk} ({volume['VolumeId']})")
        self._bump_generation(name)
        return ApplyResult(provider_id=instance_id, message="; ".join(done) or f"{name} was already absent")

    # -- dispatch -------------------------------------------------------------------------
    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None = None
    ) -> ApplyResult:
        """Carry out one change: create, update, replace (terminate then launch) or delete.

        When the aws-ec2 chart was rendered, its cloud-init user data is used at launch too.
        """
        key_name = None
        if resource is not None:
            settings = aws_settings(resource)
            key_name = settings.get("key_name")
            if settings.get("ingress_cidr"):
                self.ingress_cidr = str(settings["ingress_cidr"])
        body = next((artifacts.files[f] for f in TEMPLATE_FILES if artifacts and f in artifacts.files), None)
        launch = LaunchOptions(
            key_name=str(key_name) if key_name else None, user_data=template_user_data(body) if body else None
        )
        if change.op is Op.create:
            return self.create(change.resource, change.desired, launch)
        if change.op is Op.update:
            instance = self.find_instance(change.resource)
            if instance is None:
                return self.create(change.resource, change.desired, launch)
            removed = [f.path for f in change.fields if f.new is None and f.old is not None]
            return self.converge(instance, change.desired, removed)
        if change.op is Op.replace:
            return self.replace(change.resource, change.desired, launch)
        if change.op is Op.delete:
            return self.delete(change.resource)
        if change.op is Op.rename:
            return self.rename(change.previous_name or "", change.resource, change.desired, launch)
        return ApplyResult(provider_id=change.provider_id, message=change.reason)

    def rename(self, old: str, new: str, desired: dict[str, Any], launch: LaunchOptions | None = None) -> ApplyResult:
        """Move the resource tags from old to new (instance, volumes, security group), then converge."""
        instance = self.find_instance(new)
        if instance is None:
            instance = self.find_instance(old)
            if instance is None:
                return self.create(new, desired, launch)
            tagged = [instance["InstanceId"]]
            tagged += [m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if m.get("Ebs")]
            tagged += list(list_security_groups(self.ec2, owned_filters(self.lab, old)))
            aws_call(
                "retag for rename",
                self.ec2.create_tags,
                Resources=tagged,
                Tags=_tag_list(ownership_tags(self.lab, new)),
            )
            instance = self.describe(instance["InstanceId"])
        result = self.converge(instance, desired)
        result.message = f"renamed {old} -> {new}; {result.message}"
        return result
