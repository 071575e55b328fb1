"""Pure parts: the cited instance-type/price table, instance type choice, desired fields, tokens."""

from __future__ import annotations

import pytest

from reconciler.models.resource import Disk, Port, Requirements
from reconciler.providers.aws.catalog import choose_instance_type, load_catalog, offers, on_demand_price
from reconciler.providers.aws.fields import client_token, desired_fields
from reconciler.providers.errors import PermanentProviderError
from tests.providers.aws.conftest import make_resource, provider_config


def test_every_type_and_price_names_a_dated_source() -> None:
    catalog = load_catalog()
    for spec in catalog.types.values():
        assert catalog.sources[spec.source].date
    for region, table in catalog.prices.items():
        for name, (usd, source) in table.items():
            assert usd > 0 and catalog.sources[source].url.startswith("https://"), (region, name)


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [
        (Requirements(), "t3.medium"),
        (Requirements(cpu=1, memory_gb=1), "t3.micro"),
        (Requirements(cpu=4, memory_gb=16), "t3.xlarge"),
        (Requirements(cpu=2, memory_gb=16), "r6i.large"),
        (Requirements(cpu=4, memory_gb=16, gpu=True), "g4dn.xlarge"),
        (Requirements(cpu=4, memory_gb=16, gpu=True, gpu_model="NVIDIA A10G"), "g5.xlarge"),
        (Requirements(cpu=8, memory_gb=32, gpu=4), "g4dn.12xlarge"),
    ],
)
def test_instance_type_is_the_cheapest_that_fits(requirements: Requirements, expected: str) -> None:
    assert choose_instance_type(requirements, "us-east-1") == expected


def test_no_fitting_type_says_what_to_set() -> None:
    with pytest.raises(ValueError, match=r"overrides\.aws\.instance_type"):
        choose_instance_type(Requirements(cpu=4, gpu=1, gpu_model="H100"), "us-east-1")


def test_prices_cite_their_source_and_unknown_regions_stay_unknown() -> None:
    price = on_demand_price("g5.xlarge", "us-east-1")
    assert price is not None and price.usd_per_hour == 1.006
    assert price.source.date == "2026-06-17" and price.usd_per_month == 734.38
    assert on_demand_price("g5.xlarge", "ap-south-2") is None


def test_desired_fields_in_the_observe_vocabulary() -> None:
    resource = make_resource(
        "db",
        "ami-0123456789abcdef0",
        cpu=2,
        memory_gb=8,
        storage_gb=20.5,
        disks=[Disk(name="data", size="1T")],
        ports=[Port(name="pg", port=5432)],
        overrides={"region": "us-west-2"},
    )
    fields = desired_fields(resource, provider_config("http://127.0.0.1:1"))
    assert fields == {
        "region": "us-west-2",
        "instance_type": "t3.large",
        "ami": "ami-0123456789abcdef0",
        "state": "running",
        "tags": {"app": "db"},
        "volumes": [
            {"device": "root", "size_gb": 21, "type": "gp3"},
            {"device": "/dev/sdf", "name": "data", "size_gb": 1024, "type": "gp3"},
        ],
        "ingress": ["tcp:5432"],
    }


def test_a_resource_without_an_ami_gets_a_clear_error() -> None:
    resource = make_resource("db", "")
    resource.properties.clear()
    with pytest.raises(PermanentProviderError, match=r"no AMI: set overrides\.aws\.ami"):
        desired_fields(resource, provider_config("http://127.0.0.1:1"))


def test_client_token_is_stable_per_identity_and_changes_with_generation_and_ami() -> None:
    token = client_token("home", "web", "us-east-1", "ami-1", 0)
    assert token == client_token("home", "web", "us-east-1", "ami-1", 0) and len(token) <= 64
    assert (
        len(
            {
                token,
                client_token("home", "web", "us-east-1", "ami-1", 1),
                client_token("home", "web", "us-east-1", "ami-2", 0),
                client_token("other", "web", "us-east-1", "ami-1", 0),
            }
        )
        == 4
    )


def test_the_aws_ec2_chart_table_agrees_with_the_provider_table() -> None:
    """The chart picks the first fitting row; the provider the cheapest fitting type: same rows, same order."""
    import yaml

    from reconciler.assets import asset_dir

    chart_rows = yaml.safe_load((asset_dir("charts") / "aws-ec2" / "values.yaml").read_text())["instance_types"]
    catalog = load_catalog()

    def price(name: str) -> float:
        found = on_demand_price(name, "us-east-1")
        assert found is not None, f"{name} has no us-east-1 price"
        return found.usd_per_hour

    # GPU and non-GPU rows never compete (each kind is only picked for its own requests).
    by_price = sorted(catalog.types.values(), key=lambda t: (t.gpus > 0, price(t.name), t.vcpu, t.memory_gb, t.name))
    assert [row["name"] for row in chart_rows] == [t.name for t in by_price]
    for row in chart_rows:
        spec = catalog.types[row["name"]]
        assert (row["vcpu"], row["memory_gb"], row["gpus"], row.get("gpu_model")) == (
            spec.vcpu,
            spec.memory_gb,
            spec.gpus,
            spec.gpu_model,
        )


def test_offers_for_the_advisor_are_priced_and_ordered_or_say_unknown() -> None:
    gpu = offers(Requirements(cpu=4, memory_gb=16, gpu=True), "us-east-1")
    assert [o.instance_type.name for o in gpu][:3] == ["g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge"]
    assert all(o.price is not None and o.price.source.url for o in gpu)
    elsewhere = offers(Requirements(cpu=4, memory_gb=16, gpu=True), "eu-central-1")
    assert elsewhere and all(o.price is None for o in elsewhere)
