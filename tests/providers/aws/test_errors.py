"""AWS failures mapped at the edge: transient vs permanent, AWS's message kept, no credentials leaked."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.stub import ANY, Stubber

from reconciler.models.plan import Change, Op
from reconciler.providers.aws.apply import ApiExecutor
from reconciler.providers.aws.errors import map_error
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from tests.backends.moto import ACCESS_KEY_ENV, FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from tests.providers.aws.conftest import JsonFileState, make_provider, make_resource


def client_error(code: str, message: str, status: int) -> botocore.exceptions.ClientError:
    """A ClientError as botocore raises it."""
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "RunInstances"
    )


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("RequestLimitExceeded", 503, TransientProviderError),
        ("Throttling", 400, TransientProviderError),
        ("InternalError", 500, TransientProviderError),
        ("InsufficientInstanceCapacity", 500, TransientProviderError),
        ("UnauthorizedOperation", 403, PermanentProviderError),
        ("InvalidAMIID.NotFound", 400, PermanentProviderError),
    ],
)
def test_client_errors_are_classified(code: str, status: int, kind: type[Exception]) -> None:
    mapped = map_error(client_error(code, "what AWS said", status), "run instances")
    assert type(mapped) is kind
    assert str(mapped) == f"aws run instances: {code}: what AWS said"


def test_access_keys_never_reach_a_message() -> None:
    mapped = map_error(
        client_error(
            "AuthFailure", f"key {FAKE_ACCESS_KEY} is not valid for wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 401
        ),
        "describe instances",
    )
    assert FAKE_ACCESS_KEY not in str(mapped) and "wJalrXUtnFEMI" not in str(mapped)
    assert "[redacted]" in str(mapped)


def test_an_unreachable_endpoint_is_transient_and_names_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ACCESS_KEY_ENV, FAKE_ACCESS_KEY)
    monkeypatch.setenv("MOTO_TEST_SECRET_KEY", FAKE_SECRET_KEY)
    # Port 9 (discard) on 127.0.0.1 has nothing listening here: connection refused.
    provider = make_provider("http://127.0.0.1:9", tmp_path)
    with pytest.raises(TransientProviderError) as info:
        provider.observe()
    assert "cannot reach the AWS API" in str(info.value)
    assert FAKE_SECRET_KEY not in str(info.value) and FAKE_ACCESS_KEY not in str(info.value)
    with pytest.raises(TransientProviderError):
        provider.find("web")


def test_missing_credential_variables_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ACCESS_KEY_ENV, raising=False)
    provider = make_provider("http://127.0.0.1:9", tmp_path)
    assert provider.preflight([]) == [f"aws access key: environment variable {ACCESS_KEY_ENV} is not set"]


def test_moto_refusing_a_bad_ami_is_permanent_with_aws_words(moto_endpoint: str, tmp_path: Path) -> None:
    provider = make_provider(moto_endpoint, tmp_path)
    resource = make_resource("web", "ami-0000000000000dead", storage_gb=10)
    change = Change(
        op=Op.create,
        resource="web",
        provider="cloud",
        provider_type="aws",
        reason="x",
        desired=provider.desired_fields(resource),
    )
    with pytest.raises(PermanentProviderError, match="ami-0000000000000dead"):
        provider.apply(change, resource, None)


def test_a_token_that_names_a_terminated_instance_moves_to_the_next_generation(tmp_path: Path) -> None:
    """Recorded AWS behaviour moto lacks: RunInstances with an old ClientToken returns the old instance."""
    ec2: Any = boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="recorded",
        aws_secret_access_key="recorded",
    )
    state = JsonFileState(tmp_path / "state.json")
    executor = ApiExecutor(ec2, "home", state, waiter_delay=0)
    desired = {
        "region": "us-east-1",
        "instance_type": "t3.micro",
        "ami": "ami-0123456789abcdef0",
        "tags": {},
        "volumes": [],
        "ingress": [],
    }
    launch = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)

    def instance(instance_id: str, state_name: str) -> dict[str, Any]:
        return {
            "Instances": [
                {
                    "InstanceId": instance_id,
                    "State": {"Name": state_name, "Code": 0},
                    "LaunchTime": launch,
                    "BlockDeviceMappings": [],
                }
            ],
            "ReservationId": "r-1",
            "OwnerId": "123456789012",
        }

    with Stubber(ec2) as stub:
        stub.add_response("describe_instances", {"Reservations": []})
        stub.add_response("describe_security_groups", {"SecurityGroups": []})
        stub.add_response("create_security_group", {"GroupId": "sg-0123456789abcdef0"})
        stub.add_response("describe_volumes", {"Volumes": []})
        stub.add_response(
            "run_instances",
            instance("i-old", "terminated"),
            {
                "ClientToken": executor_token(0),
                "ImageId": ANY,
                "InstanceType": ANY,
                "MinCount": 1,
                "MaxCount": 1,
                "SecurityGroupIds": ANY,
                "TagSpecifications": ANY,
            },
        )
        stub.add_response(
            "run_instances",
            instance("i-new", "pending"),
            {
                "ClientToken": executor_token(1),
                "ImageId": ANY,
                "InstanceType": ANY,
                "MinCount": 1,
                "MaxCount": 1,
                "SecurityGroupIds": ANY,
                "TagSpecifications": ANY,
            },
        )
        result = executor.create("web", desired)
        stub.assert_no_pending_responses()
    assert result.provider_id == "i-new" and state.get("generation/web") == 1


def executor_token(generation: int) -> str:
    """The token the executor sends for home/web in us-east-1 with the test AMI."""
    from reconciler.providers.aws.fields import client_token

    return client_token("home", "web", "us-east-1", "ami-0123456789abcdef0", generation)


def test_preflight_catches_an_ami_of_another_region_and_an_unoffered_type(
    moto_endpoint: str, tmp_path: Path, ami: str
) -> None:
    provider = make_provider(moto_endpoint, tmp_path)
    good = make_resource("web", ami)
    change = Change(
        op=Op.create,
        resource="web",
        provider="cloud",
        provider_type="aws",
        reason="x",
        desired=provider.desired_fields(good),
    )
    assert provider.preflight([change]) == []

    elsewhere = make_resource("web", "ami-0000000000000dead", overrides={"instance_type": "t3.gigantic"})
    bad = Change(
        op=Op.create,
        resource="web",
        provider="cloud",
        provider_type="aws",
        reason="x",
        desired=provider.desired_fields(elsewhere),
    )
    problems = provider.preflight([bad])
    assert problems == [
        "AMI ami-0000000000000dead does not exist in us-east-1 (AMI ids are per region): set `ami` to an image "
        "of us-east-1 in the pool's properties or the resource's overrides.aws",
        "instance type t3.gigantic is not offered in us-east-1: pick another with overrides.aws.instance_type, "
        "or drop it to let homeport choose from its table",
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"poll_seconds": "5s"}, "options.poll_seconds: Input should be a valid integer"),
        ({"regions": "us-west-2"}, "options.regions: Input should be a valid list (a list of region names"),
        ({"endpoint_url": "http://x"}, "options.endpoint_url is spelled `endpoint:` on the provider"),
        ({"region": "us-west-2"}, "options.region is spelled `region:` on the provider"),
        ({"colour": "blue"}, "options.colour: Extra inputs are not permitted"),
    ],
)
def test_bad_provider_options_are_named(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(PermanentProviderError, match=re.escape(message)):
        make_provider("http://127.0.0.1:9", tmp_path, **options)
