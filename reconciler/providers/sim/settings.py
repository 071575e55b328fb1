"""The sim provider's options (homeport.yaml `options:`) as a pydantic model, checked once at start-up."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError


class SimNode(BaseModel):
    """The size of one simulated node."""

    model_config = ConfigDict(extra="forbid")

    cpu: float = Field(default=32, ge=0, description="Cores of the simulated node")
    memory_gb: float = Field(default=128, ge=0, description="Memory of the simulated node")
    storage_gb: float = Field(default=2000, ge=0, description="Disk of the simulated node")
    gpu: int = Field(default=1, ge=0, description="GPUs the node can pass through")
    gpu_model: str = Field(default="simulated GPU", description="Their model, for gpu_model requirements")


class SimSettings(BaseModel):
    """options: nodes (name -> size; nodes listed only in `nodes:` get the default size) and faults
    (resource -> transient | permanent: that resource's apply fails that way, for tests and demos). Other keys
    are ignored: the simulator stands in for any provider, so labs and tests put that provider's options here."""

    model_config = ConfigDict(extra="ignore")

    nodes: dict[str, SimNode] = Field(default_factory=dict,
        description='Simulated nodes and their size; nodes listed only in `nodes:` get the default size, and '
                    'a provider with no node at all gets one, sim-1')
    faults: dict[str, Literal["transient", "permanent"]] = Field(default_factory=dict,
        description='Inject a fault per resource name (tests, demos)')


def load_settings(config: ProviderConfig, name: str) -> SimSettings:
    """The provider's settings; nodes named in `nodes:` but not sized get the default size, and a provider
    with no node at all gets one, sim-1. A wrong option is a clear error naming it."""
    try:
        settings = SimSettings.model_validate(config.options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PermanentProviderError(f"sim provider {name}: options.{where}: {first['msg']}") from exc
    for node in config.nodes:
        settings.nodes.setdefault(node, SimNode())
    if not settings.nodes:
        settings.nodes["sim-1"] = SimNode()
    return settings


OPTIONS_MODEL = SimSettings  # what `options:` in homeport.yaml accepts (docs/providers/*.md are generated from it)
