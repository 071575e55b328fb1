"""AWS provider fixtures: moto's server, a file-backed provider state, resources and providers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.models.effective import EffectiveResource
from reconciler.models.lab import Credentials, ProviderConfig
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec
from reconciler.providers.aws import AwsProvider
from reconciler.providers.base import ProviderContext
from tests.backends.moto import (  # the fixtures are re-exported so pytest finds them here
    ACCESS_KEY_ENV,
    FAKE_ACCESS_KEY,
    FAKE_SECRET_KEY,
    SECRET_KEY_ENV,
    MotoServer,
    moto_endpoint,
    moto_server,
)

__all__ = ["moto_endpoint", "moto_server"]

REGION = "us-east-1"
LAB = "home"


class JsonFileState:
    """A ProviderState kept in a JSON file, so it survives a killed process like the DB-backed one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, key: str) -> Any | None:
        """The value under key, or None."""
        return self._load().get(key)

    def put(self, key: str, value: Any) -> None:
        """Store value under key."""
        data = self._load()
        data[key] = value
        self.path.write_text(json.dumps(data))

    def delete(self, key: str) -> None:
        """Forget key."""
        data = self._load()
        data.pop(key, None)
        self.path.write_text(json.dumps(data))

    def items(self, prefix: str = "") -> dict[str, Any]:
        """Every key starting with prefix."""
        return {k: v for k, v in self._load().items() if k.startswith(prefix)}


def provider_config(endpoint: str, executor: str | None = None, **options: Any) -> ProviderConfig:
    """An aws provider pointed at moto with keys from the fixture's environment variables."""
    return ProviderConfig(
        type="aws",
        region=REGION,
        executor=executor,
        endpoint=endpoint,
        credentials=Credentials(access_key_env=ACCESS_KEY_ENV, secret_key_env=SECRET_KEY_ENV),
        options={"poll_seconds": 0, **options},
    )


def make_provider(endpoint: str, tmp_path: Path, executor: str | None = None, **options: Any) -> AwsProvider:
    """A provider for lab 'home' against moto, its state in tmp_path/state.json."""
    ctx = ProviderContext(
        lab=LAB,
        name="cloud",
        config=provider_config(endpoint, executor, **options),
        state=JsonFileState(tmp_path / "state.json"),
        work_dir=tmp_path,
    )
    return AwsProvider(ctx)


def make_resource(name: str = "web", ami: str = "ami-12c6146b", **requirements: Any) -> EffectiveResource:
    """An EC2 resource in pool /cloud/aws with an AMI set through the pool's properties."""
    ports = requirements.pop("ports", [])
    overrides = requirements.pop("overrides", {})
    labels = requirements.pop("labels", {"app": name})
    return EffectiveResource(
        name=name,
        lab=LAB,
        labels=labels,
        resource_type="compute",
        workload_type="web-app",
        provider="cloud",
        provider_type="aws",
        pool="/cloud/aws",
        pool_name="aws",
        requirements=Requirements(**requirements),
        deployment=Deployment(),
        network=NetworkSpec(),
        service=ServiceSpec(ports=ports),
        properties={"ami": ami},
        overrides=overrides,
    )


def raw_ec2(endpoint: str) -> Any:
    """A plain boto3 EC2 client on moto, for setting up and checking from the outside."""
    return boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
    )


@pytest.fixture
def ec2(moto_endpoint: str) -> Any:
    """A plain EC2 client on the freshly reset moto."""
    return raw_ec2(moto_endpoint)


@pytest.fixture(scope="session")
def moto_linux_amis(moto_server: MotoServer) -> list[str]:
    """The Linux EBS AMIs moto ships in us-east-1 (static data: listed once, valid after every reset)."""
    client = raw_ec2(moto_server.endpoint)
    images = client.describe_images(Owners=["amazon"], Filters=[{"Name": "root-device-type", "Values": ["ebs"]}])
    linux = sorted(img["ImageId"] for img in images["Images"] if img.get("Platform") != "windows")
    assert len(linux) >= 2, "moto ships fewer than two Linux AMIs in us-east-1"
    return linux


@pytest.fixture
def ami(ec2: Any, moto_linux_amis: list[str]) -> str:
    """An AMI that exists in moto's us-east-1 (one of the Amazon images it ships)."""
    assert ec2.describe_images(ImageIds=[moto_linux_amis[0]])["Images"]
    return moto_linux_amis[0]


@pytest.fixture
def second_ami(ec2: Any, moto_linux_amis: list[str]) -> str:
    """Another AMI, for replacement tests."""
    return moto_linux_amis[1]
