"""Identity fixtures: a JWT-issuing key server and the oidc-provider-mock provider (tests/backends/oidc.py)."""

from __future__ import annotations

from tests.backends.oidc import key_server, mock_provider

__all__ = ["key_server", "mock_provider"]
