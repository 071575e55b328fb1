"""The Azure provider: VMs from universal definitions, through the api or arm executor."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.plan import Change, Op
from reconciler.providers.azure.apply import ApiExecutor, Where, vm_options
from reconciler.providers.azure.apply_arm import ArmExecutor, WhatIfPreview
from reconciler.providers.azure.clients import AzureClients
from reconciler.providers.azure.errors import azure_call
from reconciler.providers.azure.fields import DIFF_RULES, desired_fields, executor_for, placement
from reconciler.providers.azure.observe import nodes_of, read_one, read_subscription, resources_of
from reconciler.providers.azure.settings import AzureSettings, load_settings
from reconciler.providers.base import ApplyResult, Provider, ProviderContext, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError

PLACES_KEY = "places"  # every subscription/resource group/location homeport created in


class AzureProvider(Provider):
    """Azure VMs in one or more subscriptions and resource groups; owned ones carry homeport's tags."""

    type: ClassVar[str] = "azure"
    diff_rules: ClassVar[DiffRules] = DIFF_RULES

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.settings: AzureSettings = load_settings(ctx.config, ctx.name)
        self.clients = AzureClients(self.settings)

    # -- where things are ------------------------------------------------------------------
    def places(self) -> list[Where]:
        """The provider's default place and every place homeport created in (remembered in its state)."""
        found: dict[tuple[str, str], Where] = {}
        s = self.settings
        if s.subscription_id and s.resource_group:
            found[(s.subscription_id, s.resource_group.lower())] = Where(s.subscription_id, s.resource_group,
                                                                         s.location or "")
        for entry in self.ctx.state.get(PLACES_KEY) or []:
            sub, group, location = entry.split("/")
            found.setdefault((sub, group.lower()), Where(sub, group, location))
        return [found[key] for key in sorted(found)]

    def subscriptions(self) -> list[str]:
        """Subscriptions to observe: the provider's, the places', and options.subscriptions."""
        found = {w.subscription for w in self.places()} | set(self.settings.options.subscriptions)
        if self.settings.subscription_id:
            found.add(self.settings.subscription_id)
        return sorted(found)

    def _remember(self, where: Where) -> None:
        known = list(self.ctx.state.get(PLACES_KEY) or [])
        entry = f"{where.subscription}/{where.group}/{where.location}"
        if entry not in known:
            self.ctx.state.put(PLACES_KEY, sorted([*known, entry]))

    def _where(self, change: Change, resource: EffectiveResource | None) -> Where:
        desired = change.desired
        if desired.get("subscription_id") and desired.get("resource_group"):
            return Where(str(desired["subscription_id"]), str(desired["resource_group"]),
                         str(desired.get("location") or self.settings.location or ""))
        if resource is not None:
            return Where(*placement(resource, self.settings))
        found = self._locate(change.resource)
        if found is not None:
            return found[0]
        places = self.places()
        if not places:
            raise PermanentProviderError(f"{change.resource}: no subscription and resource group known to look in")
        return places[0]

    # -- contract ----------------------------------------------------------------------------
    def observe(self) -> Inventory:
        """Per subscription: list_all VMs (homeport's tags), their power states, NICs and NSGs."""
        if not self.subscriptions():
            raise PermanentProviderError(
                f"azure provider {self.name}: no subscription: set options.subscription_id_env (or "
                "options.subscription_id) and options.resource_group in homeport.yaml"
            )
        start = len(self.clients.calls)
        inventory = Inventory(provider=self.name, provider_type=self.type, observed_at=self.ctx.clock())
        groups = {w.group.lower() for w in self.places()}
        transient: list[TransientProviderError] = []
        for subscription in self.subscriptions():
            try:
                view = read_subscription(self.clients, subscription, self.ctx.lab, groups,
                                         self.settings.options.observe_power_state)
            except ProviderError as exc:
                inventory.errors.append(f"subscription {subscription}: {exc}")
                if isinstance(exc, TransientProviderError):
                    transient.append(exc)
                continue
            resources = resources_of(view, self.name, self.ctx.lab)
            inventory.resources.extend(resources)
            inventory.nodes.extend(nodes_of(resources, self.name, subscription, self.settings.location))
        inventory.api_calls = len(self.clients.calls) - start
        if inventory.errors and not inventory.nodes:
            # Nothing could be read: an empty inventory would look like "everything is gone".
            message = "; ".join(inventory.errors)
            if transient:
                raise TransientProviderError(message, delay=max(e.delay for e in transient))
            raise PermanentProviderError(message)
        return inventory

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """Pure: subscription, group, location, size, image, disks, tags, power, ingress, public IP, subnet."""
        return desired_fields(resource, self.settings)

    def _locate(self, name: str) -> tuple[Where, ObservedResource] | None:
        for where in self.places():
            found = read_one(self.clients, where.subscription, where.group, name, self.name, self.ctx.lab)
            if found is not None:
                vm, observed = found
                if observed.owned:
                    return Where(where.subscription, vm.resource_group, vm.location), observed
        return None

    def find(self, name: str) -> ObservedResource | None:
        """This lab's VM called name, read directly (with its power state) in every known resource group."""
        found = self._locate(name)
        return found[1] if found else None

    def _executor(self) -> ApiExecutor:
        return ApiExecutor(self.clients, self.settings, self.ctx.lab)

    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Carry out one change with the resource's executor (api by default), idempotently."""
        where = self._where(change, resource)
        options = vm_options(resource, self.settings, artifacts)
        api = self._executor()
        if change.op is not Op.delete:
            self._remember(where)
        if change.op is Op.replace:
            old = self._locate(change.resource)
            if old is not None and (old[0].group.lower(), old[0].subscription) != (where.group.lower(),
                                                                                 where.subscription):
                removed = api.delete(old[0], change.resource)
                created = self.apply(change.model_copy(update={"op": Op.create}), resource, artifacts)
                created.message = f"{removed.message} in {old[0].group}; {created.message}"
                return created
        if executor_for(resource, self.settings) == "arm":
            return ArmExecutor(api).apply(where, change, artifacts, options)
        return api.apply(where, change, options)

    def what_if(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> WhatIfPreview | None:
        """For the arm executor: ARM's what-if of the deployment (computed, never executed)."""
        if change.op in (Op.delete, Op.noop) or executor_for(resource, self.settings) != "arm":
            return None
        where = self._where(change, resource)
        return ArmExecutor(self._executor()).what_if(where, change, artifacts,
                                                     vm_options(resource, self.settings, artifacts))

    def preview(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> dict[str, Any] | None:
        """The arm executor's what-if as the plan preview."""
        found = self.what_if(change, resource, artifacts)
        if found is None:
            return None
        return {
            "kind": "arm-what-if",
            "deployment": found.deployment,
            "resource_group": found.resource_group,
            "status": found.status,
            "empty": found.empty,
            "lines": [line.text() for line in found.lines] or [found.status],
            "changes": [line.model_dump() for line in found.lines],
        }

    def preflight(self, changes: list[Change]) -> list[str]:
        """Problems found before applying: a resource group that does not exist, an unknown subscription."""
        problems = []
        for change in changes:
            desired = change.desired
            if change.op not in (Op.create, Op.replace) or not desired.get("resource_group"):
                continue
            sub, group = str(desired["subscription_id"]), str(desired["resource_group"])
            groups = self.clients.resources(sub).resource_groups
            exists = azure_call("check resource group", groups.check_existence, group)
            if not exists:
                problems.append(
                    f"resource group {group} does not exist in subscription {sub}: create it (az group create "
                    f"-n {group} -l {desired.get('location')}) or set resource_group in the pool's properties"
                )
        return problems

    def close(self) -> None:
        """Close the clients' transports."""
        self.clients.close()


PROVIDER_CLASS = AzureProvider
