"""Why a token or a login was refused, and when the identity provider cannot be reached."""

from __future__ import annotations


class IdentityError(Exception):
    """Base of identity errors; messages never contain a token or a secret."""


class TokenRejected(IdentityError):
    """The token is not acceptable (bad signature, wrong issuer or audience, expired, unknown key, ...)."""


class LoginFailed(IdentityError):
    """A browser login could not be completed (state mismatch, provider error, bad ID token)."""


class ProviderUnavailable(IdentityError):
    """The identity provider did not answer, or answered something that is not what the protocol says."""


class ConfigurationError(IdentityError):
    """The identity section of homeport.yaml cannot work as written (say which field)."""
