"""AWS errors mapped to homeport's error tree at the edge; credentials never reach a message."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import botocore.exceptions

from reconciler.providers.errors import PermanentProviderError, TransientProviderError

T = TypeVar("T")

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "TooManyRequestsException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "Unavailable",
        "InsufficientInstanceCapacity",
        "IncorrectInstanceState",
        "IncorrectState",
    }
)
# Access key ids (AKIA/ASIA...) and anything that looks like a long secret are scrubbed from messages.
_KEY_ID = re.compile(r"\b(AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")
_SECRETISH = re.compile(r"\b[A-Za-z0-9/+=]{40}\b")


def scrub(message: str) -> str:
    """A message with access key ids and secret-looking strings removed."""
    return _SECRETISH.sub("[redacted]", _KEY_ID.sub("[redacted]", message))


def map_error(exc: Exception, action: str) -> Exception:
    """The homeport error for a boto3/botocore failure during `action`."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = scrub(str(error.get("Message", "")))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        text = f"aws {action}: {code}: {message}".rstrip(": ")
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            return TransientProviderError(text, delay=10.0 if "Throttl" in code or status == 429 else 5.0)
        return PermanentProviderError(text)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return PermanentProviderError(
            f"aws {action}: no AWS credentials found: set credentials.access_key_env/secret_key_env, "
            "a `profile:`, or the standard AWS environment variables"
        )
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return PermanentProviderError(f"aws {action}: {scrub(str(exc))}: fix `profile:` in homeport.yaml")
    if isinstance(
        exc,
        botocore.exceptions.EndpointConnectionError
        | botocore.exceptions.ConnectionError
        | botocore.exceptions.ReadTimeoutError
        | botocore.exceptions.ConnectTimeoutError,
    ):
        return TransientProviderError(f"aws {action}: cannot reach the AWS API: {scrub(str(exc))}", delay=15.0)
    if isinstance(exc, botocore.exceptions.WaiterError):
        return TransientProviderError(f"aws {action}: still waiting: {scrub(str(exc))}", delay=15.0)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return PermanentProviderError(f"aws {action}: {scrub(str(exc))}")
    return exc


def aws_call(action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one AWS call, mapping vendor errors into Transient/PermanentProviderError."""
    try:
        return fn(*args, **kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        mapped = map_error(exc, action)
        if mapped is exc:
            raise
        raise mapped from exc
