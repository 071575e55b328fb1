"""The shared price catalog (reconciler/providers/pricing.py) that AWS's and Azure's catalogs are made of."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.models.resource import Requirements
from reconciler.providers.aws import catalog as aws
from reconciler.providers.azure import catalog as azure
from reconciler.providers.pricing import PriceCatalog

TABLE = """
sources:
  page: {title: A price page, url: "https://example.org/prices", date: "2026-01", checked: false}
types:
  small: {vcpu: 1, memory_gb: 2, source: page}
  medium: {vcpu: 2, memory_gb: 4, source: page}
  large: {vcpu: 4, memory_gb: 16, source: page}
  gpu: {vcpu: 8, memory_gb: 32, gpus: 1, gpu_model: NVIDIA T4, source: page}
prices:
  home:
    medium: {usd_per_hour: 0.05, source: page}
    large: {usd_per_hour: 0.04, source: page}
  away:
    large: {usd_per_hour: 0.30, source: page}
"""


def _catalog(tmp_path: Path, text: str = TABLE) -> PriceCatalog:
    data = tmp_path / "table.yaml"
    data.write_text(text, encoding="utf-8")
    return PriceCatalog(data_file=data, default_region="home", what="test size", override="overrides.test.size")


def test_one_catalog_from_a_data_file_and_its_names(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    # the cheapest fitting size in the region, not the smallest
    assert cat.choose_instance_type(Requirements(), "home") == "large"
    # a region without prices ranks by the default region's
    assert cat.choose_instance_type(Requirements(), "elsewhere") == "large"
    assert cat.choose_instance_type(Requirements(gpu=True), "home") == "gpu"
    offered = cat.offers(Requirements(cpu=2), "away")
    assert [o.instance_type.name for o in offered] == ["large", "medium"], "unknown prices last"
    assert offered[0].price is not None and offered[0].price.usd_per_month == round(0.30 * 730, 2)
    nothing_fits = r"no test size in homeport's table fits 64 vCPU, 4.0 GiB: set overrides\.test\.size"
    with pytest.raises(ValueError, match=nothing_fits):
        cat.choose_instance_type(Requirements(cpu=64), "home")


def test_a_price_naming_an_unknown_size_is_refused_with_the_file(tmp_path: Path) -> None:
    cat = _catalog(tmp_path, TABLE + "  elsewhere:\n    huge: {usd_per_hour: 9, source: page}\n")
    with pytest.raises(ValueError, match=r"table\.yaml: price elsewhere/huge names an unknown type or source"):
        cat.load()


def test_aws_and_azure_are_the_same_catalog_with_their_own_names() -> None:
    assert (aws.CATALOG.default_region, azure.CATALOG.default_region) == ("us-east-1", "eastus")
    assert aws.load_catalog() is aws.CATALOG.load() and azure.load_catalog().types
    assert all(isinstance(size, azure.VmSize) for size in azure.load_catalog().types.values())
    t4 = azure.load_catalog().types["Standard_NC4as_T4_v3"]
    assert isinstance(t4, azure.VmSize) and t4.family == "NC"
    with pytest.raises(ValueError, match=r"no EC2 instance type .* set overrides\.aws\.instance_type"):
        aws.choose_instance_type(Requirements(cpu=512, memory_gb=4096), "us-east-1")
