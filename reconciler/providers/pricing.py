"""A cloud's size table and cited on-demand prices (a provider's data/*.yaml), and the pure size choice.

One `PriceCatalog` per cloud (AWS instance types, Azure VM sizes): the data file, the default size of a
definition that states none, the region that ranks sizes where a region has no price, and the words of
the error that names the override. The cloud's own module (providers/<cloud>/catalog.py) holds just those.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from reconciler.models.resource import Requirements

HOURS_PER_MONTH = 730  # 365 days x 24 h / 12, the month of AWS's and Azure's pricing calculators


class Source(BaseModel):
    """Where a number comes from and when it was published or read."""

    title: str
    url: str
    date: str
    checked: bool = Field(description="False when the figure could not be re-read from the source while building")


class InstanceType(BaseModel):
    """One size of a cloud's machines (an EC2 instance type, an Azure VM size)."""

    name: str
    vcpu: int
    memory_gb: float
    gpus: int = 0
    gpu_model: str | None = None
    gpu_memory_gb: float | None = None
    arch: str = "x86_64"
    source: str


class Price(BaseModel):
    """An on-demand (pay-as-you-go) hourly price for one size in one region, with its source."""

    instance_type: str
    region: str
    usd_per_hour: float
    source: Source

    @property
    def usd_per_month(self) -> float:
        """Price for 730 hours (the clouds' own monthly convention)."""
        return round(self.usd_per_hour * HOURS_PER_MONTH, 2)


class Catalog(BaseModel):
    """Everything in a data file."""

    sources: dict[str, Source]
    types: dict[str, InstanceType]
    prices: dict[str, dict[str, tuple[float, str]]]


class Offer(BaseModel):
    """A size that fits a workload, with its cited price in a region (None: unknown there)."""

    instance_type: InstanceType
    region: str
    price: Price | None = None


@cache
def read_catalog(path: Path, type_model: type[InstanceType] = InstanceType) -> Catalog:
    """Read and check a data file (cached): every type and price must name a known source."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    sources = {key: Source(**value) for key, value in raw["sources"].items()}
    types = {name: type_model(name=name, **spec) for name, spec in raw["types"].items()}
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


def _gpu_matches(spec: InstanceType, gpu_model: str | None) -> bool:
    if not gpu_model:
        return True
    wanted = gpu_model.lower().replace("nvidia", "").strip()
    return spec.gpu_model is not None and wanted in spec.gpu_model.lower()


@dataclass(frozen=True)
class PriceCatalog:
    """One cloud's catalog: its data file and names; every answer is a pure function of the file."""

    data_file: Path
    default_region: str  # ranks sizes where the asked region has no price; the region of a lab that names none
    what: str  # "EC2 instance type", "Azure VM size": named in the error when nothing fits
    override: str  # "overrides.aws.instance_type": what to set when nothing fits
    default_cpu: int = 2  # what a definition that states no size gets
    default_memory_gb: float = 4.0
    type_model: type[InstanceType] = InstanceType

    def load(self, path: Path | None = None) -> Catalog:
        """The data file's catalog (read once)."""
        return read_catalog(path or self.data_file, self.type_model)

    def on_demand_price(self, instance_type: str, region: str) -> Price | None:
        """The cited on-demand price of a size in a region, or None when homeport does not know it."""
        catalog = self.load()
        entry = catalog.prices.get(region, {}).get(instance_type)
        if entry is None:
            return None
        usd, source = entry
        return Price(instance_type=instance_type, region=region, usd_per_hour=usd, source=catalog.sources[source])

    def candidate_types(self, requirements: Requirements) -> list[InstanceType]:
        """Every size in the table that meets the requirements (CPU, memory, GPU count and model)."""
        cpu = requirements.cpu or self.default_cpu
        memory = requirements.memory_gb or self.default_memory_gb
        gpus = requirements.gpu_count
        found = []
        for spec in self.load().types.values():
            if spec.vcpu < cpu or spec.memory_gb < memory:
                continue
            if gpus and (spec.gpus < gpus or not _gpu_matches(spec, requirements.gpu_model)):
                continue
            if not gpus and spec.gpus:
                continue
            found.append(spec)
        return found

    def choose_instance_type(self, requirements: Requirements, region: str) -> str:
        """The cheapest listed size that fits (ranked by the default region's price where the region has
        none); deterministic."""
        found = self.candidate_types(requirements)
        if not found:
            gpu = (
                f", {requirements.gpu_count} GPU {requirements.gpu_model or ''}".rstrip()
                if requirements.gpu_count
                else ""
            )
            raise ValueError(
                f"no {self.what} in homeport's table fits {requirements.cpu or self.default_cpu} vCPU, "
                f"{requirements.memory_gb or self.default_memory_gb} GiB{gpu}: set {self.override}"
            )

        def rank(spec: InstanceType) -> tuple[float, float, float, str]:
            price = self.on_demand_price(spec.name, region) or self.on_demand_price(spec.name, self.default_region)
            usd = price.usd_per_hour if price else float("inf")
            return (usd, spec.vcpu, spec.memory_gb, spec.name)

        return min(found, key=rank).name

    def offers(self, requirements: Requirements, region: str) -> list[Offer]:
        """Every fitting size with its price in region, cheapest first; sizes without a known price last."""
        found = [
            Offer(instance_type=spec, region=region, price=self.on_demand_price(spec.name, region))
            for spec in self.candidate_types(requirements)
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
