"""The `Lab` kind (homeport.yaml): providers, reconcile policy, proposal policy, notifications."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, field_validator, model_validator

from reconciler.models.identity import IdentityConfig
from reconciler.models.meta import KindBase, StrictModel
from reconciler.models.plan import Risk

ProviderType = Literal["sim", "proxmox", "docker", "lxd", "kubernetes", "vmware", "aws", "azure"]
PROVIDER_TYPES: tuple[str, ...] = ("sim", "proxmox", "docker", "lxd", "kubernetes", "vmware", "aws", "azure")

_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION_SECONDS = 366 * 86400


def duration_seconds(text: str) -> int:
    """Seconds in a duration such as '30s', '5m', '4h' or '1d' (at most 366 days)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration: write a number and a unit, e.g. 30s, 5m, 4h, 1d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"{text!r} is longer than a year (366d)")
    return seconds


def check_cron(expr: str) -> str:
    """Refuse a cron expression croniter cannot run, or one that never fires (e.g. 30 February)."""
    try:
        croniter(expr, datetime(2024, 1, 1, tzinfo=UTC)).get_next(datetime)
    except Exception as exc:  # croniter raises several unrelated types for bad expressions
        raise ValueError(f"{expr!r} is not a cron expression that ever fires ({exc}); e.g. '0 1 * * *'") from None
    return expr


def check_timezone(name: str) -> str:
    """Refuse a time zone the IANA database on this machine does not know."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known time zone: use an IANA name such as UTC or Europe/Berlin") from None
    return name


class Credentials(StrictModel):
    """Where secrets come from: names of environment variables or paths of secrets files, never values."""

    token_id_env: str | None = None
    token_secret_env: str | None = None
    token_secret_file: str | None = None
    username: str | None = Field(default=None, description="A user name (not a secret), e.g. for vSphere")
    username_env: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    access_key_env: str | None = None
    secret_key_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    tenant_id_env: str | None = None
    ssh_key_file: str | None = None


class ProviderConfig(StrictModel):
    """One provider instance that pools refer to by name."""

    type: ProviderType
    enabled: bool = Field(
        default=True,
        description="False: resources on it are validated and rendered but never observed or applied",
    )
    endpoint: str | None = Field(default=None, description="API address, socket or ssh:// URL")
    region: str | None = None
    profile: str | None = None
    ca_file: str | None = None
    verify_tls: bool = True
    credentials: Credentials = Field(default_factory=Credentials)
    nodes: list[str] = Field(default_factory=list, description="Nodes or engines this provider serves")
    executor: str | None = Field(default=None, description="Provider-specific executor (e.g. aws: api|cloudformation)")
    max_concurrent_tasks: int = Field(default=2, ge=1, le=64)
    cpu_allocation_ratio: float | None = Field(
        default=None, gt=0, le=64, description="vCPUs placeable per core on this provider's nodes (default 4.0)"
    )
    memory_allocation_ratio: float | None = Field(
        default=None, gt=0, le=16, description="Memory placeable per GiB on this provider's nodes (default 1.0)"
    )
    options: dict[str, object] = Field(default_factory=dict, description="Provider-specific settings")
    node_watts: dict[str, float] = Field(default_factory=dict, description="Measured average power draw per node "
                                         "in watts, for on-premise cost advice (never guessed)")


class SyncWindow(StrictModel):
    """A cron-like window in which applying is allowed (allow) or forbidden (deny)."""

    allow: str | None = Field(default=None, description="cron expression at which an allow window opens")
    deny: str | None = Field(default=None, description="cron expression at which a deny window opens")
    duration: str = "1h"
    timezone: str = "UTC"

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        if duration_seconds(value) < 1:
            raise ValueError("a window lasts at least 1s")
        return value

    @field_validator("allow", "deny")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _one_kind(self) -> SyncWindow:
        if (self.allow is None) == (self.deny is None):
            raise ValueError("a window sets exactly one of allow or deny (a cron expression)")
        return self


class ReconcilePolicy(StrictModel):
    """How and when the reconciler converges: the lab-wide defaults resources may override."""

    interval: str = "5m"
    auto_apply: bool = True
    prune: bool = False
    self_heal: bool = False
    max_auto_risk: Risk = Risk.medium
    max_prune_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    paused: bool = False
    windows: list[SyncWindow] = Field(default_factory=list)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        if duration_seconds(value) < 1:
            raise ValueError("the interval is at least 1s (0s would reconcile without pause)")
        return value


class ForgeConfig(StrictModel):
    """Where proposals become pull requests (GitHub or Gitea)."""

    type: Literal["github", "gitea"]
    repo: str
    url: str | None = None
    token_env: str | None = None
    token_file: str | None = None
    remote: str = "origin"


class ProposalPolicy(StrictModel):
    """Proposal handling: auto-merge threshold and forge."""

    auto_merge_max_risk: Risk | None = None
    forge: ForgeConfig | None = None
    allow_self_approval: bool = Field(
        default=False,
        description="Whether the identity (token, OIDC subject or terminal user) that proposed a change may also "
        "approve it; off, someone else must review it",
    )


NotifyEvent = Literal["failure", "deviation", "applied"]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = ("failure", "deviation", "applied")


class NotificationTarget(StrictModel):
    """A webhook that receives one message per run."""

    url: str | None = None
    url_env: str | None = None
    format: Literal["json", "ntfy", "gotify"] = "json"
    token_env: str | None = None
    events: list[NotifyEvent] = Field(default_factory=lambda: list(NOTIFY_EVENTS))


class LabSpec(StrictModel):
    """Everything homeport.yaml declares for a lab."""

    providers: dict[str, ProviderConfig]
    main_branch: str = "main"
    reconcile: ReconcilePolicy = Field(default_factory=ReconcilePolicy)
    proposals: ProposalPolicy = Field(default_factory=ProposalPolicy)
    notifications: list[NotificationTarget] = Field(default_factory=list)
    electricity_cost_per_kwh: float | None = Field(default=None, ge=0, description="For cost advice")
    currency: str = "USD"
    identity: IdentityConfig = Field(default_factory=IdentityConfig,
                                     description="OIDC provider and public URL (docs/identity.md)")


class Lab(KindBase):
    """The `Lab` kind, one per repository, in homeport.yaml."""

    kind: Literal["Lab"]
    spec: LabSpec
