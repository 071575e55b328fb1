"""Cloud prices for advice, from the providers' cited catalogs (AWS instance types, Azure VM sizes): the doors
ask here, never a provider package."""

from __future__ import annotations

from typing import Any

from reconciler.models.resource import Requirements
from reconciler.providers.aws import catalog as aws_catalog
from reconciler.providers.azure import catalog as azure_catalog

HOURS_PER_MONTH = 730  # 365 days x 24 h / 12, the convention AWS's pricing calculator uses


def cloud_estimate(provider_type: str, requirements: Requirements, region: str) -> dict[str, Any]:
    """The instance type (AWS) or VM size (Azure) homeport would pick and its monthly price, with source."""
    catalog: Any = azure_catalog if provider_type == "azure" else aws_catalog
    choose_instance_type, offers, on_demand_price = catalog.choose_instance_type, catalog.offers, \
        catalog.on_demand_price
    try:
        itype = choose_instance_type(requirements, region)
    except ValueError as exc:
        return {"instance_type": None, "monthly_usd": None, "note": str(exc)}
    price = on_demand_price(itype, region)
    if price is None:
        return {"instance_type": itype, "monthly_usd": None,
                "note": f"no published price for {itype} in {region} in homeport's catalog (unknown, not guessed)"}
    alternatives = [{"instance_type": o.instance_type.name, "vcpu": o.instance_type.vcpu,
                     "memory_gb": o.instance_type.memory_gb,
                     "monthly_usd": round(o.price.usd_per_hour * HOURS_PER_MONTH, 2) if o.price else None,
                     "source": ({"url": o.price.source.url, "date": o.price.source.date,
                                 "checked": o.price.source.checked} if o.price else "no published price: unknown")}
                    for o in offers(requirements, region)[:5] if o.instance_type.name != itype]
    return {"instance_type": itype, "usd_per_hour": price.usd_per_hour, "alternatives": alternatives,
            "monthly_usd": round(price.usd_per_hour * HOURS_PER_MONTH, 2),
            "basis": f"{HOURS_PER_MONTH} h/month on-demand, Linux",
            "source": {"title": price.source.title, "url": price.source.url, "date": price.source.date,
                       "checked": price.source.checked}}
