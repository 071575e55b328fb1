"""The AWS provider's settings from homeport.yaml: one spelling for each (region:, endpoint:, options), checked
once with errors naming the field."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError

# spellings older labs used, and where the value goes now
MOVED_OPTIONS = {"endpoint_url": "endpoint:", "region": "region:"}


class AwsOptions(BaseModel):
    """`options:` of an aws provider."""

    model_config = ConfigDict(extra="forbid")

    poll_seconds: int = Field(default=5, ge=0, description="Seconds between polls of a waiter or a stack")
    regions: list[str] = Field(default_factory=list, description="More regions to observe besides `region:`")
    ingress_cidr: str = Field(default="10.0.0.0/8", description="Where security-group ingress rules allow from")
    observe_all_instances: bool = Field(default=False, description="Also report instances homeport did not tag")


class AwsSettings(BaseModel):
    """Where the provider works and how: region, endpoint (an EC2-compatible API, e.g. moto in tests), options."""

    region: str | None
    endpoint: str | None
    profile: str | None
    executor: str | None
    options: AwsOptions


def load_settings(config: ProviderConfig, name: str) -> AwsSettings:
    """The settings; a PermanentProviderError naming the field and its fix when one is wrong."""
    for old, new in MOVED_OPTIONS.items():
        if old in config.options:
            raise PermanentProviderError(f"aws provider {name}: options.{old} is spelled `{new}` on the provider")
    try:
        options = AwsOptions.model_validate(config.options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        hint = " (a list of region names, e.g. [us-west-2])" if where.startswith("regions") else ""
        raise PermanentProviderError(f"aws provider {name}: options.{where}: {first['msg']}{hint}") from exc
    return AwsSettings(
        region=config.region,
        endpoint=config.endpoint,
        profile=config.profile,
        executor=config.executor,
        options=options,
    )


def default_region(config: ProviderConfig) -> str:
    """The region resources land in when their pool names none."""
    if config.region:
        return config.region
    raise PermanentProviderError(
        "aws provider has no region: set `region:` on the provider in homeport.yaml (e.g. region: us-east-1)"
    )


OPTIONS_MODEL = AwsOptions  # what `options:` in homeport.yaml accepts (docs/providers/*.md are generated from it)
