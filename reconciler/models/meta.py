"""Fields every desired-state kind shares: apiVersion, kind and metadata."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

API_VERSION = "homelab.ai/v1"
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def check_dns_label(value: str) -> str:
    """Refuse names that are not DNS-1123 labels (lower case, digits, '-', at most 63)."""
    if not DNS1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label: use at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(check_dns_label)]


def check_dimensions(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse a dimension whose value, as JSON, is longer than dimension_value_chars (docs/limits.md)."""
    from reconciler.models.limits import LimitExceeded, current_limits

    limit = current_limits().dimension_value_chars
    for name, item in value.items():
        size = len(item) if isinstance(item, str) else len(json.dumps(item, default=str))
        if size > limit:
            raise ValueError(str(LimitExceeded("dimension_value_chars", limit, f"dimension {name!r} has {size:,}")))
    return value


Dimensions = Annotated[dict[str, Any], AfterValidator(check_dimensions)]


class StrictModel(BaseModel):
    """Base for desired-state models: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ObjectMeta(StrictModel):
    """Name, labels and annotations of a desired-state object."""

    name: DnsLabel = Field(description="DNS-1123 label, unique within its kind")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    version: str | None = Field(default=None, description="Free-form version (templates use it)")
    description: str | None = None


class KindBase(StrictModel):
    """apiVersion, kind and metadata, shared by every kind."""

    api_version: str = Field(alias="apiVersion", pattern=r"^homelab\.ai/v1$")
    kind: str
    metadata: ObjectMeta

    @property
    def name(self) -> str:
        """The object's name."""
        return self.metadata.name
