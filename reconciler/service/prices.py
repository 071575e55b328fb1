"""Cloud prices for advice, from the providers' cited catalogs (AWS instance types, Azure VM sizes): the doors
ask here, never a provider package."""

from __future__ import annotations

from typing import Any

from reconciler.models.resource import Requirements
from reconciler.providers.aws.catalog import CATALOG as AWS_CATALOG
from reconciler.providers.azure.catalog import CATALOG as AZURE_CATALOG
from reconciler.providers.pricing import HOURS_PER_MONTH, PriceCatalog

__all__ = ["CLOUDS", "HOURS_PER_MONTH", "cloud_estimate", "price_catalog"]

CLOUDS = {"aws": AWS_CATALOG, "azure": AZURE_CATALOG}


def price_catalog(provider_type: str) -> PriceCatalog:
    """The cited price catalog of a cloud provider type (Azure's VM sizes for "azure", else AWS's types)."""
    return AZURE_CATALOG if provider_type == "azure" else AWS_CATALOG


def cloud_estimate(provider_type: str, requirements: Requirements, region: str) -> dict[str, Any]:
    """The instance type (AWS) or VM size (Azure) homeport would pick and its monthly price, with source."""
    catalog = price_catalog(provider_type)
    try:
        itype = catalog.choose_instance_type(requirements, region)
    except ValueError as exc:
        return {"instance_type": None, "monthly_usd": None, "note": str(exc)}
    price = catalog.on_demand_price(itype, region)
    if price is None:
        return {"instance_type": itype, "monthly_usd": None,
                "note": f"no published price for {itype} in {region} in homeport's catalog (unknown, not guessed)"}
    alternatives = [{"instance_type": o.instance_type.name, "vcpu": o.instance_type.vcpu,
                     "memory_gb": o.instance_type.memory_gb,
                     "monthly_usd": round(o.price.usd_per_hour * HOURS_PER_MONTH, 2) if o.price else None,
                     "source": ({"url": o.price.source.url, "date": o.price.source.date,
                                 "checked": o.price.source.checked} if o.price else "no published price: unknown")}
                    for o in catalog.offers(requirements, region)[:5] if o.instance_type.name != itype]
    return {"instance_type": itype, "usd_per_hour": price.usd_per_hour, "alternatives": alternatives,
            "monthly_usd": round(price.usd_per_hour * HOURS_PER_MONTH, 2),
            "basis": f"{HOURS_PER_MONTH} h/month on-demand, Linux",
            "source": {"title": price.source.title, "url": price.source.url, "date": price.source.date,
                       "checked": price.source.checked}}
