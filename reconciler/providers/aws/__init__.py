"""AWS provider: EC2 through boto3, with the `api` (default) and `cloudformation` executors.

`PROVIDER_CLASS` is loaded on first access, so the data modules (`catalog`: instance types and
cited prices, read by the MCP advisor) import without boto3 installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.providers.aws.provider import AwsProvider

__all__ = ["PROVIDER_CLASS", "AwsProvider"]


def __getattr__(name: str) -> Any:
    if name in ("PROVIDER_CLASS", "AwsProvider"):
        from reconciler.providers.aws.provider import PROVIDER_CLASS

        return PROVIDER_CLASS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
