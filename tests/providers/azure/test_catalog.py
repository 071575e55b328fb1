"""The Azure VM size and price catalog (data/vm_prices.yaml): every figure cited, the choice pure."""

from __future__ import annotations

import pytest

from reconciler.models.resource import Requirements
from reconciler.providers.azure.catalog import choose_vm_size, load_catalog, offers, on_demand_price


def test_every_size_and_price_names_a_dated_source_marked_unchecked() -> None:
    catalog = load_catalog()
    assert catalog.types and catalog.prices
    for source in catalog.sources.values():
        assert source.url.startswith("https://") and source.date
        assert source.checked is False, "Azure's pages cannot be read from the build machine"
    for region, table in catalog.prices.items():
        for size, (usd, source) in table.items():
            assert size in catalog.types and source in catalog.sources and usd > 0, (region, size)


@pytest.mark.parametrize(("requirements", "region", "size"), [
    (Requirements(cpu=2, memory_gb=4), "eastus", "Standard_B2s"),
    (Requirements(cpu=2, memory_gb=8), "eastus", "Standard_B2ms"),
    (Requirements(cpu=4, memory_gb=32), "eastus", "Standard_E4s_v3"),
    (Requirements(gpu=True), "eastus", "Standard_NC4as_T4_v3"),
    (Requirements(gpu=4), "eastus", "Standard_NC64as_T4_v3"),
    (Requirements(cpu=2, memory_gb=4), "westus", "Standard_B2s"),  # no price there: eastus ranks
])
def test_the_cheapest_fitting_size(requirements: Requirements, region: str, size: str) -> None:
    assert choose_vm_size(requirements, region) == size


def test_prices_are_known_or_unknown_never_guessed() -> None:
    price = on_demand_price("Standard_B2s", "eastus")
    assert price is not None and price.usd_per_month == round(price.usd_per_hour * 730, 2)
    assert on_demand_price("Standard_B2s", "westus") is None
    listed = offers(Requirements(cpu=16, memory_gb=64), "westus2")
    assert [o.price is None for o in listed] == sorted(o.price is None for o in listed), "unknown prices last"
    with pytest.raises(ValueError, match=r"overrides\.azure\.vm_size"):
        choose_vm_size(Requirements(cpu=512, memory_gb=4096), "eastus")


def test_the_advice_lookup_quotes_azure_prices_with_their_source() -> None:
    from reconciler.service.prices import cloud_estimate

    quoted = cloud_estimate("azure", Requirements(cpu=2, memory_gb=8), "eastus")
    assert quoted["instance_type"] == "Standard_B2ms" and quoted["monthly_usd"] == round(0.0832 * 730, 2)
    assert quoted["source"]["checked"] is False and quoted["source"]["url"].startswith("https://azure.microsoft.com")
    unknown = cloud_estimate("azure", Requirements(cpu=2, memory_gb=8), "westus")
    assert unknown["monthly_usd"] is None and "unknown, not guessed" in unknown["note"]
