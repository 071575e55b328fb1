"""The provider error tree: vendor errors are mapped to these at the edge, `raise ... from exc`."""

from __future__ import annotations


class ProviderError(Exception):
    """Base of provider failures. Messages never carry secrets."""


class TransientProviderError(ProviderError):
    """Worth retrying after `delay` seconds (connection refused, 5xx, a locked guest, a rate limit)."""

    def __init__(self, message: str, delay: float = 5.0) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentProviderError(ProviderError):
    """Retrying will not help (bad parameter, no permission, missing image): recorded, resource failed."""


class ProviderUnavailableError(PermanentProviderError):
    """The provider's SDK is not installed or the provider type is unknown."""
