"""The Azure VM size table and pay-as-you-go prices (data/vm_prices.yaml), and the pure size choice.

The table's reading, price lookup and choice are the shared `reconciler.providers.pricing.PriceCatalog`;
this module names Azure's file, default size and fallback region.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.models.resource import Requirements
from reconciler.providers.pricing import Catalog, InstanceType, Offer, Price, PriceCatalog, Source

__all__ = [
    "CATALOG", "DATA_FILE", "Catalog", "InstanceType", "Offer", "Price", "Source",
    "VmSize", "choose_instance_type", "choose_vm_size", "load_catalog", "offers",
    "on_demand_price",
]

DATA_FILE = Path(__file__).resolve().parent / "data" / "vm_prices.yaml"


class VmSize(InstanceType):
    """One Azure VM size."""

    @property
    def family(self) -> str:
        """The series part of the name ('D' of 'Standard_D2s_v3', 'NC' of 'Standard_NC4as_T4_v3')."""
        core = self.name.removeprefix("Standard_")
        return "".join(ch for ch in core.split("_", 1)[0] if ch.isupper())


CATALOG = PriceCatalog(  # a definition that states no size gets the default 2 vCPU, 4 GiB (Standard_B2s)
    data_file=DATA_FILE,
    default_region="eastus",
    what="Azure VM size",
    override="overrides.azure.vm_size",
    type_model=VmSize,
)

load_catalog = CATALOG.load
on_demand_price = CATALOG.on_demand_price
choose_instance_type = CATALOG.choose_instance_type
offers = CATALOG.offers


def choose_vm_size(requirements: Requirements, region: str) -> str:
    """The cheapest listed VM size that fits (Azure's name for choose_instance_type)."""
    return CATALOG.choose_instance_type(requirements, region)
