"""The Azure provider's options (homeport.yaml `providers.<name>`), as a pydantic model with clear errors.

Subscription, resource group and location come from the provider and may be replaced per pool
(pool properties or a resource's `overrides.azure`). Credentials are references: names of
environment variables or a secrets file, never values.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.secrets import read_secret

EXECUTORS = ("api", "arm")
DEFAULT_ENDPOINT = "https://management.azure.com"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class AzureOptions(BaseModel):
    """`options:` of an azure provider; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    subscription_id: str | None = Field(default=None, description="The default subscription id")
    subscription_id_env: str | None = Field(default=None, description="Environment variable holding it")
    resource_group: str | None = Field(default=None, description="Default resource group (it must exist)")
    location: str | None = Field(default=None, description="Default region; `region:` on the provider also works")
    credential: Literal["default", "service-principal", "none"] | None = Field(
        default=None,
        description="default: azure-identity's chain; service-principal: credentials.*_env; "
        "none: no token, only for a local test endpoint on 127.0.0.1",
    )
    client_secret_file: str | None = Field(default=None, description="Secrets file with the client secret")
    ssh_public_key: str | None = Field(default=None, description="The admin's SSH public key (not a secret)")
    ssh_public_key_file: str | None = None
    admin_username: str = "homeport"
    ingress_source: str = Field(default="VirtualNetwork", description="NSG source prefix for the service's ports")
    poll_seconds: float = Field(default=5.0, ge=0, description="Long-running operation polling interval")
    lro_timeout: float = Field(default=1800.0, gt=0, description="Deadline for one long-running operation")
    retry_total: int = Field(default=3, ge=0, le=10, description="SDK retries of 429/5xx before homeport's own")
    subscriptions: list[str] = Field(default_factory=list, description="More subscriptions to observe")
    observe_power_state: bool = Field(default=True, description="One statusOnly listing per subscription")

    @field_validator("resource_group")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is not None and not (1 <= len(value) <= 90):
            raise ValueError("a resource group name is 1 to 90 characters")
        return value


class AzureSettings(BaseModel):
    """Everything the provider needs, resolved: secrets read from their references (never shown)."""

    model_config = ConfigDict(frozen=True)

    name: str
    endpoint: str
    subscription_id: str | None
    resource_group: str | None
    location: str | None
    credential: Literal["default", "service-principal", "none"]
    tenant_id: str | None = Field(default=None, repr=False)
    client_id: str | None = Field(default=None, repr=False)
    client_secret: str | None = Field(default=None, repr=False)
    executor: str = "api"
    options: AzureOptions


def _where(name: str) -> str:
    return f"providers.{name}"


def load_options(config: ProviderConfig, name: str) -> AzureOptions:
    """The provider's options, or an error naming the bad key."""
    try:
        return AzureOptions.model_validate(config.options)
    except ValidationError as exc:
        problems = "; ".join(
            f"options.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise PermanentProviderError(f"{_where(name)}: {problems}") from exc


def load_settings(config: ProviderConfig, name: str) -> AzureSettings:
    """Settings from homeport.yaml; a PermanentProviderError naming the field and the fix when one is wrong."""
    options = load_options(config, name)
    where = _where(name)
    endpoint = (config.endpoint or DEFAULT_ENDPOINT).rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PermanentProviderError(f"{where}.endpoint {endpoint!r} is not a URL such as {DEFAULT_ENDPOINT}")
    loopback = parts.hostname in LOOPBACK_HOSTS
    if parts.scheme == "http" and not loopback:
        raise PermanentProviderError(f"{where}.endpoint must be https (plain http only for a test server on 127.0.0.1)")
    executor = config.executor or "api"
    if executor not in EXECUTORS:
        raise PermanentProviderError(f"{where}.executor {executor!r} is unknown for azure: use one of api, arm")
    subscription = options.subscription_id
    if options.subscription_id_env:
        subscription = read_secret(env=options.subscription_id_env, what=f"{where}.options.subscription_id_env")
    creds = config.credentials
    service_principal = bool(creds.client_id_env or creds.client_secret_env or options.client_secret_file)
    credential = options.credential or ("service-principal" if service_principal else "default")
    if credential == "none" and not loopback:
        raise PermanentProviderError(
            f"{where}.options.credential none sends no token: allowed only for an endpoint on 127.0.0.1"
        )
    tenant = client = secret = None
    if credential == "service-principal":
        what = f"{where}.credentials"
        tenant = read_secret(env=creds.tenant_id_env, what=f"{what}.tenant_id_env")
        client = read_secret(env=creds.client_id_env, what=f"{what}.client_id_env")
        secret = read_secret(env=creds.client_secret_env, file=options.client_secret_file,
                             what=f"{what}.client_secret_env")
        missing = [label for label, value in (("tenant_id_env", tenant), ("client_id_env", client),
                                              ("client_secret_env or options.client_secret_file", secret))
                   if not value]
        if missing:
            raise PermanentProviderError(
                f"{where}: a service principal needs credentials {', '.join(missing)} "
                "(names of environment variables, never the values)"
            )
    return AzureSettings(
        name=name,
        endpoint=endpoint,
        subscription_id=subscription,
        resource_group=options.resource_group,
        location=config.region or options.location,
        credential=credential,
        tenant_id=tenant,
        client_id=client,
        client_secret=secret,
        executor=executor,
        options=options,
    )


def resource_settings(properties: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Pool properties and template variables, then `overrides.azure` on top (later wins)."""
    merged = {key: value for key, value in properties.items() if value is not None}
    merged.update({key: value for key, value in overrides.items() if value is not None})
    return merged


OPTIONS_MODEL = AzureOptions  # what `options:` in homeport.yaml accepts (docs/providers/*.md are generated from it)
