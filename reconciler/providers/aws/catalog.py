"""The EC2 instance type table and on-demand prices (data/ec2_types.yaml), and the pure type choice.

The table's reading, price lookup and choice are the shared `reconciler.providers.pricing.PriceCatalog`;
this module names AWS's file, default size and fallback region.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.providers.pricing import Catalog, InstanceType, Offer, Price, PriceCatalog, Source

__all__ = [
    "CATALOG", "DATA_FILE", "Catalog", "InstanceType", "Offer", "Price", "Source",
    "choose_instance_type", "load_catalog", "offers", "on_demand_price",
]

DATA_FILE = Path(__file__).resolve().parent / "data" / "ec2_types.yaml"

CATALOG = PriceCatalog(  # a definition that states no size gets the default 2 vCPU, 4 GiB (t3.medium)
    data_file=DATA_FILE,
    default_region="us-east-1",
    what="EC2 instance type",
    override="overrides.aws.instance_type",
)

load_catalog = CATALOG.load
on_demand_price = CATALOG.on_demand_price
choose_instance_type = CATALOG.choose_instance_type
offers = CATALOG.offers
