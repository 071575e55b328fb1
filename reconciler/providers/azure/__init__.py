"""Azure provider: VMs through the Azure SDKs, with the `api` (default) and `arm` executors.

`PROVIDER_CLASS` is loaded on first access, so the data modules (`catalog`: VM sizes and cited
prices, read by the MCP advisor) import without the Azure SDKs installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.providers.azure.provider import AzureProvider

__all__ = ["PROVIDER_CLASS", "AzureProvider"]


def __getattr__(name: str) -> Any:
    if name in ("PROVIDER_CLASS", "AzureProvider"):
        from reconciler.providers.azure.provider import PROVIDER_CLASS

        return PROVIDER_CLASS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
