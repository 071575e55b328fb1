"""The provider contract every provider implements, and the context it runs in."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, Field

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.lab import ProviderConfig
from reconciler.models.placement import Demand
from reconciler.models.plan import Change

OWNER_LABEL = "homeport.managed-by"
OWNER_VALUE = "homeport"
LAB_LABEL = "homeport.lab"
RESOURCE_LABEL = "homeport.resource"


class ProviderState(Protocol):
    """Small durable key/value state a provider may keep in the lab's database (sim inventory, vmid reservations)."""

    def get(self, key: str) -> Any | None:
        """The value under key, or None."""

    def put(self, key: str, value: Any) -> None:
        """Store a JSON-able value under key (committed at once)."""

    def delete(self, key: str) -> None:
        """Forget key."""

    def items(self, prefix: str = "") -> dict[str, Any]:
        """Every key starting with prefix."""


def utc_now() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


@dataclass
class ProviderContext:
    """What a provider gets from the reconciler: its name, its config, durable state, a clock."""

    lab: str
    name: str
    config: ProviderConfig
    state: ProviderState
    work_dir: Path
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = field(default=lambda seconds: None)


@dataclass
class RenderedArtifacts:
    """A chart's output for one resource: relative path -> text, and where it was written."""

    chart: str
    files: dict[str, str]
    directory: Path | None = None


class HostResult(BaseModel):
    """Configuration result for one host (Ansible recap)."""

    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0


class ApplyResult(BaseModel):
    """What applying one change did."""

    provider_id: str | None = None
    node: str | None = None
    message: str = ""
    outputs: dict[str, Any] = Field(default_factory=dict)
    hosts: list[HostResult] = Field(default_factory=list)


@dataclass(slots=True)
class ObservationPrint:
    """Fingerprints of what observe() sees: one per resource (hash of its observed fields), and a digest of the
    whole observation that changes whenever a plan from it could. digest None: the provider cannot vouch for
    its observation (e.g. a cheap listing without every field), so no run may skip work on its account."""

    digest: str | None
    resources: dict[str, str] = field(default_factory=dict)
    inventory: Inventory | None = None  # the observation the prints were taken from, when there is one


def print_text(text: str) -> str:
    """The fingerprint of one resource's observed text."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def print_inventory(inventory: Inventory, lab: str) -> ObservationPrint:
    """Pure: fingerprints of an inventory. This lab's resources count with every observed field; others only by
    name, kind, id and owner (what the plan lists of them); node usage is left out (it moves all the time and
    only placement of new resources reads it). Errors count."""
    resources: dict[str, str] = {}
    lines: list[str] = []
    trusted = True
    for r in inventory.resources:
        if r.owned and r.lab == lab:
            trusted = trusted and r.detail_loaded
            resources[r.name] = print_text(json.dumps(r.model_dump(mode="json"), sort_keys=True, default=str))
            lines.append(f"{r.name}\0{resources[r.name]}")
        else:
            lines.append(f"~{r.name}\0{r.kind}\0{r.id}\0{r.lab}\0{r.owned}")
    lines.extend(f"!{e}" for e in inventory.errors)
    digest = print_text("\n".join(sorted(lines))) if trusted else None
    return ObservationPrint(digest, resources, inventory)


class Provider(ABC):
    """A provider instance: observes (read only) and applies changes (the only code that writes)."""

    type: ClassVar[str]
    diff_rules: ClassVar[DiffRules] = DiffRules()
    # (vCPU, GiB) a guest without cpu / memory_gb is given, so what it allocates on a node: nothing by default (a
    # container's limits are caps), 1 / 1 where the hypervisor creates it with one core and 1 GiB. Advice about
    # moving a resource to this provider (reconciler/service/optimize.py) sizes it with these; demand() says so.
    unset_size: ClassVar[tuple[float, float]] = (0.0, 0.0)

    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx

    @property
    def name(self) -> str:
        """The instance name from homeport.yaml."""
        return self.ctx.name

    @abstractmethod
    def observe(self) -> Inventory:
        """Read nodes and resources (owned and not). Never changes anything."""

    def observe_reusing(self, max_age: float) -> Inventory:
        """For long-lived readers (the MCP server): an inventory that may reuse what this object's last observe
        built, when the provider's cheap change check (one call) says nothing moved and that observe is at most
        max_age seconds old. A provider without such a check observes in full."""
        return self.observe()

    @abstractmethod
    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """Pure: the fields observe() would report once `resource` is applied."""

    def diff_rules_for(
        self, resource: EffectiveResource, fields: dict[str, Any], observed: ObservedResource | None
    ) -> DiffRules:
        """Pure: the rules the plan compares this resource with (the provider's diff_rules by default). A provider
        whose restarts depend on the resource narrows them here: a VM's limits restart it where a container's
        apply live, a hot-add flag on the live guest decides. `fields` are its desired fields, `observed` the
        owned resource of that name (None before it exists; possibly only the cheap listing's fields)."""
        return self.diff_rules

    def demand(self, resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
        """Pure: what placing resource allocates on a node, from its desired fields. By default its
        requirements, an unset cpu or memory reserving nothing (providers that give a default size say so)."""
        return Demand.from_requirements(
            resource.requirements, unset_cpu=self.unset_size[0], unset_memory_gb=self.unset_size[1],
            what=f"a {self.type} resource"
        )

    @abstractmethod
    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Carry out one change, idempotently: ask before creating, converge if half done."""

    def find(self, name: str) -> ObservedResource | None:
        """The owned resource called name, if it exists (used before creating and to verify intents)."""
        return self.observe().owned(self.ctx.lab).get(name)

    def observation_print(self) -> ObservationPrint:
        """Fingerprints of the current observation (see ObservationPrint). By default observe() and hash it; a
        provider with a cheaper change check overrides this (the observation is then taken only when needed)."""
        return print_inventory(self.observe(), self.ctx.lab)

    def load_detail(self, resource: ObservedResource) -> ObservedResource:
        """Fill in fields the cheap listing left out (called only when the diff needs them)."""
        return resource

    def preview(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> dict[str, Any] | None:
        """The provider's own preview of a change (e.g. a CloudFormation change set, created but never
        executed), with a "lines" list for people; None when the provider has none."""
        return None

    def preflight(self, changes: list[Change]) -> list[str]:
        """Problems that would make these changes fail, each with its remedy. Empty when fine."""
        return []

    # True when the provider checks a change's rendered artifacts before apply (preflight_rendered): the
    # preflight phase renders the change only for such providers.
    preflight_renders: bool = False

    def preflight_rendered(
        self, change: Change, resource: EffectiveResource, artifacts: RenderedArtifacts | None
    ) -> list[str]:
        """Problems the provider finds in what a create or update would send (e.g. the API server's own dry run
        of each manifest), each with the API's message. Empty when fine; called only with preflight_renders."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook; most providers hold nothing to release
        """Release connections."""
