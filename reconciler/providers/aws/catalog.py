"""The EC2 instance type table and on-demand prices (data/ec2_types.yaml), and the pure type choice."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from reconciler.models.resource import Requirements

DATA_FILE = Path(__file__).resolve().parent / "data" / "ec2_types.yaml"
# What a definition that states no size gets: 2 vCPU, 4 GiB (t3.medium).
DEFAULT_CPU = 2
DEFAULT_MEMORY_GB = 4.0


class Source(BaseModel):
    """Where a number comes from and when it was published or read."""

    title: str
    url: str
    date: str
    checked: bool = Field(description="False when the figure could not be re-read from the source while building")


class InstanceType(BaseModel):
    """One EC2 instance type's size."""

    name: str
    vcpu: int
    memory_gb: float
    gpus: int = 0
    gpu_model: str | None = None
    gpu_memory_gb: float | None = None
    arch: str = "x86_64"
    source: str


class Price(BaseModel):
    """An on-demand hourly price for one type in one region, with its source."""

    instance_type: str
    region: str
    usd_per_hour: float
    source: Source

    @property
    def usd_per_month(self) -> float:
        """Price for 730 hours (AWS's own monthly convention)."""
        return round(self.usd_per_hour * 730, 2)


class Catalog(BaseModel):
    """Everything in the data file."""

    sources: dict[str, Source]
    types: dict[str, InstanceType]
    prices: dict[str, dict[str, tuple[float, str]]]


@cache
def load_catalog(path: Path = DATA_FILE) -> Catalog:
    """Read and check the data file (cached): every type and price must name a known source."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    sources = {key: Source(**value) for key, value in raw["sources"].items()}
    types = {name: InstanceType(name=name, **spec) for name, spec in raw["types"].items()}
    prices: dict[str, dict[str, tuple[float, str]]] = {}
    for region, table in raw["prices"].items():
        for name, entry in table.items():
            if name not in types or entry["source"] not in sources:
                raise ValueError(f"{path}: price {region}/{name} names an unknown type or source")
            prices.setdefault(region, {})[name] = (float(entry["usd_per_hour"]), entry["source"])
    for spec in types.values():
        if spec.source not in sources:
            raise ValueError(f"{path}: type {spec.name} names unknown source {spec.source!r}")
    return Catalog(sources=sources, types=types, prices=prices)


def on_demand_price(instance_type: str, region: str) -> Price | None:
    """The cited on-demand price of a type in a region, or None when homeport does not know it."""
    catalog = load_catalog()
    entry = catalog.prices.get(region, {}).get(instance_type)
    if entry is None:
        return None
    usd, source = entry
    return Price(instance_type=instance_type, region=region, usd_per_hour=usd, source=catalog.sources[source])


def _gpu_matches(spec: InstanceType, gpu_model: str | None) -> bool:
    if not gpu_model:
        return True
    wanted = gpu_model.lower().replace("nvidia", "").strip()
    return spec.gpu_model is not None and wanted in spec.gpu_model.lower()


def candidate_types(requirements: Requirements) -> list[InstanceType]:
    """Every type in the table that meets the requirements (CPU, memory, GPU count and model)."""
    cpu = requirements.cpu or DEFAULT_CPU
    memory = requirements.memory_gb or DEFAULT_MEMORY_GB
    gpus = requirements.gpu_count
    found = []
    for spec in load_catalog().types.values():
        if spec.vcpu < cpu or spec.memory_gb < memory:
            continue
        if gpus and (spec.gpus < gpus or not _gpu_matches(spec, requirements.gpu_model)):
            continue
        if not gpus and spec.gpus:
            continue
        found.append(spec)
    return found


def choose_instance_type(requirements: Requirements, region: str) -> str:
    """The cheapest listed type that fits (smallest size where the region has no price); deterministic."""
    found = candidate_types(requirements)
    if not found:
        gpu = (
            f", {requirements.gpu_count} GPU {requirements.gpu_model or ''}".rstrip() if requirements.gpu_count else ""
        )
        raise ValueError(
            f"no EC2 instance type in homeport's table fits {requirements.cpu or DEFAULT_CPU} vCPU, "
            f"{requirements.memory_gb or DEFAULT_MEMORY_GB} GiB{gpu}: set overrides.aws.instance_type"
        )

    def rank(spec: InstanceType) -> tuple[float, float, float, str]:
        price = on_demand_price(spec.name, region) or on_demand_price(spec.name, "us-east-1")
        usd = price.usd_per_hour if price else float("inf")
        return (usd, spec.vcpu, spec.memory_gb, spec.name)

    return min(found, key=rank).name


class Offer(BaseModel):
    """An instance type that fits a workload, with its cited price in a region (None: unknown there)."""

    instance_type: InstanceType
    region: str
    price: Price | None = None


def offers(requirements: Requirements, region: str) -> list[Offer]:
    """Every fitting type with its price in region, cheapest first; types without a known price last."""
    found = [
        Offer(instance_type=spec, region=region, price=on_demand_price(spec.name, region))
        for spec in candidate_types(requirements)
    ]
    return sorted(
        found,
        key=lambda o: (
            o.price is None,
            o.price.usd_per_hour if o.price else 0.0,
            o.instance_type.vcpu,
            o.instance_type.name,
        ),
    )
