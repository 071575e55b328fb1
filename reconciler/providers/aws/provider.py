"""The AWS provider: EC2 instances from universal definitions, through the api or cloudformation executor."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.plan import Change, Op
from reconciler.providers.aws.apply import ApiExecutor
from reconciler.providers.aws.apply_cloudformation import CfnExecutor, ChangeSetPreview, template_body
from reconciler.providers.aws.errors import aws_call
from reconciler.providers.aws.facts import observed_instance
from reconciler.providers.aws.fields import DIFF_RULES, desired_fields, executor_for, resource_region
from reconciler.providers.aws.observe import list_security_groups, list_volumes, observe_region, owned_filters
from reconciler.providers.aws.session import AwsClients, build_session
from reconciler.providers.aws.settings import default_region, load_settings
from reconciler.providers.base import ApplyResult, Provider, ProviderContext, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError

REGIONS_KEY = "regions"


class AwsProvider(Provider):
    """EC2 in one or more regions; resources are marked with homeport's tags."""

    type: ClassVar[str] = "aws"
    diff_rules: ClassVar[DiffRules] = DIFF_RULES

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.clients = AwsClients(ctx.config)
        self.settings = load_settings(ctx.config, ctx.name)
        self.waiter_delay = self.settings.options.poll_seconds
        self.extra_regions = list(self.settings.options.regions)
        self.ingress_cidr = self.settings.options.ingress_cidr
        self.include_unmanaged = self.settings.options.observe_all_instances

    # -- regions --------------------------------------------------------------------------
    def regions(self) -> list[str]:
        """Regions to observe: the provider's, `options.regions`, and every region homeport created in."""
        found = {default_region(self.ctx.config), *self.extra_regions}
        found.update(self.ctx.state.get(REGIONS_KEY) or [])
        return sorted(found)

    def _remember_region(self, region: str) -> None:
        known = list(self.ctx.state.get(REGIONS_KEY) or [])
        if region not in known:
            self.ctx.state.put(REGIONS_KEY, sorted([*known, region]))

    def ec2(self, region: str) -> Any:
        """The EC2 client for a region."""
        return self.clients.client("ec2", region)

    # -- contract -------------------------------------------------------------------------
    def observe(self) -> Inventory:
        """One paginated DescribeInstances per region (homeport's tag), plus owned volumes and groups."""
        start = len(self.clients.calls)
        inventory = Inventory(provider=self.name, provider_type=self.type, observed_at=self.ctx.clock())
        transient: list[TransientProviderError] = []
        for region in self.regions():
            try:
                node, resources = observe_region(
                    self.ec2(region), region, self.name, self.ctx.lab, self.include_unmanaged
                )
            except ProviderError as exc:
                inventory.errors.append(f"{region}: {exc}")
                if isinstance(exc, TransientProviderError):
                    transient.append(exc)
                continue
            inventory.nodes.append(node)
            inventory.resources.extend(resources)
        inventory.api_calls = len(self.clients.calls) - start
        if inventory.errors and not inventory.nodes:
            # Nothing could be read: an empty inventory would look like "everything is gone".
            message = "; ".join(inventory.errors)
            if transient:
                raise TransientProviderError(message, delay=max(e.delay for e in transient))
            raise PermanentProviderError(message)
        return inventory

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """Pure: region, instance_type, ami, state, tags, volumes (by device), ingress, subnet_id."""
        return desired_fields(resource, self.ctx.config)

    def find(self, name: str) -> ObservedResource | None:
        """This lab's instance called name, looked up by tags in every known region."""
        for region in self.regions():
            executor = self._api(region)
            instance = executor.find_instance(name)
            if instance is not None:
                ec2 = self.ec2(region)
                volumes = list_volumes(ec2, filters=owned_filters(self.ctx.lab, name))
                groups = list_security_groups(ec2, owned_filters(self.ctx.lab, name))
                return observed_instance(instance, region, self.name, self.ctx.lab, volumes, groups)
        return None

    def _api(self, region: str) -> ApiExecutor:
        return ApiExecutor(
            self.ec2(region),
            self.ctx.lab,
            self.ctx.state,
            ingress_cidr=self.ingress_cidr,
            waiter_delay=self.waiter_delay,
        )

    def _cfn(self, region: str) -> CfnExecutor:
        return CfnExecutor(
            self.clients.client("cloudformation", region),
            self.ctx.lab,
            waiter_delay=self.waiter_delay,
            ec2=self.ec2(region),
        )

    def _region_for(self, change: Change, resource: EffectiveResource | None) -> str:
        if change.desired.get("region"):
            return str(change.desired["region"])
        if resource is not None:
            return resource_region(resource, self.ctx.config)
        if change.node:
            return change.node
        found = self.find(change.resource)
        return found.node if found and found.node else default_region(self.ctx.config)

    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Carry out one change with the resource's executor (api by default), idempotently."""
        region = self._region_for(change, resource)
        if change.op is not Op.delete:
            self._remember_region(region)
        if executor_for(resource, self.ctx.config) == "cloudformation":
            return self._cfn(region).apply(change, artifacts)
        if change.op is Op.replace:
            # A region change replaces too: the old instance is terminated where it lives.
            old = self.find(change.resource)
            if old is not None and old.node and old.node != region:
                removed = self._api(old.node).delete(change.resource)
                created = self._api(region).apply(change.model_copy(update={"op": Op.create}), resource, artifacts)
                created.message = f"{removed.message} in {old.node}; {created.message}"
                return created
        return self._api(region).apply(change, resource, artifacts)

    def preview_change_set(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ChangeSetPreview | None:
        """For the cloudformation executor: the change set CloudFormation would execute (not executed)."""
        if change.op in (Op.delete, Op.noop) or executor_for(resource, self.ctx.config) != "cloudformation":
            return None
        region = self._region_for(change, resource)
        return self._cfn(region).preview(change.resource, template_body(artifacts, change.resource), change.desired)

    def preview(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> dict[str, Any] | None:
        """The cloudformation executor's change set as the plan preview (created, not executed)."""
        found = self.preview_change_set(change, resource, artifacts)
        if found is None:
            return None
        return {
            "kind": "cloudformation-change-set",
            "stack": found.stack,
            "change_set": found.change_set,
            "status": found.status,
            "empty": found.empty,
            "lines": found.lines() or [found.status_reason or found.status],
            "changes": [c.model_dump(mode="json") for c in found.changes],
        }

    def preflight(self, changes: list[Change]) -> list[str]:
        """Problems found before applying: no region or credentials, an AMI or type the region lacks."""
        try:
            default_region(self.ctx.config)
            build_session(self.ctx.config)
        except ProviderError as exc:
            return [str(exc)]
        problems = []
        for change in changes:
            desired = change.desired
            if change.op not in (Op.create, Op.replace, Op.update) or not desired.get("region"):
                continue
            region = str(desired["region"])
            launching = change.op in (Op.create, Op.replace)
            if launching and desired.get("ami"):
                problem = self._missing_ami(region, str(desired["ami"]))
                if problem:
                    problems.append(problem)
            retyped = launching or any(f.path == "instance_type" for f in change.fields)
            if retyped and desired.get("instance_type"):
                problem = self._unoffered_type(region, str(desired["instance_type"]))
                if problem:
                    problems.append(problem)
        return problems

    def _missing_ami(self, region: str, ami: str) -> str | None:
        try:
            found = aws_call("describe image", self.ec2(region).describe_images, ImageIds=[ami])
        except PermanentProviderError as exc:
            found = {"Images": [], "error": str(exc)}
        if found.get("Images"):
            return None
        return (
            f"AMI {ami} does not exist in {region} (AMI ids are per region): set `ami` to an image of "
            f"{region} in the pool's properties or the resource's overrides.aws"
        )

    def _unoffered_type(self, region: str, instance_type: str) -> str | None:
        offered = aws_call(
            "describe instance type offerings",
            self.ec2(region).describe_instance_type_offerings,
            LocationType="region",
            Filters=[{"Name": "instance-type", "Values": [instance_type]}],
        )
        if offered.get("InstanceTypeOfferings"):
            return None
        return (
            f"instance type {instance_type} is not offered in {region}: pick another with "
            "overrides.aws.instance_type, or drop it to let homeport choose from its table"
        )

    def close(self) -> None:
        """Close the clients' connection pools."""
        self.clients.close()


PROVIDER_CLASS = AwsProvider
