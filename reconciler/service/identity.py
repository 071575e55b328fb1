"""Who is calling, for every door (MCP, REST API, web login, daemon): one bearer check over homeport's own tokens
and the lab's OpenID Connect provider (`identity.oidc` in homeport.yaml; docs/identity.md).

    bearer = BearerVerifier.for_lab(lab, base_url="http://127.0.0.1:8765")
    principal = await bearer.verify(token)        # a Principal (subject, scopes, source) or None
    bearer.resource                               # this server as an OAuth protected resource: <url>/mcp
"""

from __future__ import annotations

import importlib
import logging
from datetime import UTC
from typing import TYPE_CHECKING, Any

import anyio

from reconciler.identity.errors import ConfigurationError, IdentityError, LoginFailed, TokenRejected
from reconciler.identity.principal import SCOPES, Principal
from reconciler.identity.secret_refs import SecretWarning, literal_secret_warnings
from reconciler.models.identity import IdentityConfig
from reconciler.service.commands import authenticate_token
from reconciler.service.errors import Invalid, ServiceError
from reconciler.service.lab import LabService

if TYPE_CHECKING:  # at run time these load on first use (the OIDC client pulls in jwt and httpx)
    from reconciler.identity.login import LoginStore, complete_login
    from reconciler.identity.login_routes import CALLBACK_PATH, LOGIN_PATH, OnLogin, login_routes
    from reconciler.identity.verifier import OidcVerifier

_LAZY = {
    "LoginStore": "reconciler.identity.login",
    "complete_login": "reconciler.identity.login",
    "CALLBACK_PATH": "reconciler.identity.login_routes",
    "LOGIN_PATH": "reconciler.identity.login_routes",
    "OnLogin": "reconciler.identity.login_routes",
    "login_routes": "reconciler.identity.login_routes",
    "OidcVerifier": "reconciler.identity.verifier",
}


def __getattr__(name: str) -> Any:
    """The OIDC names, imported when a door first uses them (stdio MCP and the CLI never do)."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CALLBACK_PATH",
    "LOGIN_PATH",
    "SCOPES",
    "BearerVerifier",
    "IdentityError",
    "LoginFailed",
    "LoginStore",
    "OidcVerifier",
    "OnLogin",
    "Principal",
    "SecretWarning",
    "TokenRejected",
    "bearer_for",
    "complete_login",
    "credential_warnings",
    "login_routes",
]

log = logging.getLogger("homeport.identity")
MAX_HOMEPORT_TOKEN = 200


class BearerVerifier:
    """homeport's own tokens first (a hash lookup), then the lab's OIDC provider when one is configured."""

    def __init__(self, lab: LabService | None, identity: IdentityConfig, *, base_url: str) -> None:
        from reconciler.identity.verifier import OidcVerifier, resource_url

        self.lab = lab
        self.identity = identity
        self.base_url = (identity.public_url or base_url).rstrip("/")
        self.resource = resource_url(identity, base_url)
        try:
            self.oidc = OidcVerifier(identity.oidc, audience=self.resource) if identity.oidc else None
        except ConfigurationError as exc:
            raise Invalid(str(exc)) from exc
        self.scope_prefix = identity.oidc.scope_prefix if identity.oidc else ""

    @classmethod
    def for_lab(cls, lab: LabService, *, base_url: str) -> BearerVerifier:
        """The verifier for a lab as main declares it (identity is read once: restart the door after a change)."""
        return cls(lab, lab.state().lab.spec.identity, base_url=base_url)

    @property
    def oidc_configured(self) -> bool:
        """Whether the lab names an identity provider."""
        return self.oidc is not None

    def homeport_token(self, token: str) -> Principal | None:
        """The principal of a valid homeport token (blocking: a database lookup)."""
        if self.lab is None or len(token) > MAX_HOMEPORT_TOKEN or not token.isascii():
            return None
        view = authenticate_token(self.lab, token)
        if view is None:
            return None
        expires = view.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return Principal(subject=view.owner, issuer="homeport", scopes=frozenset(s for s in view.scopes if s in SCOPES),
                         source="token", token_id=view.id, token_name=view.name,
                         expires_at=int(expires.timestamp()) if expires else None)

    async def verify(self, token: str) -> Principal | None:
        """Who holds token: a homeport token's owner, or the provider's subject; None when neither accepts it."""
        principal = await anyio.to_thread.run_sync(lambda: self.homeport_token(token))
        if principal is not None:
            return principal
        if self.oidc is not None:
            return await self.oidc.try_verify(token)
        return None


def bearer_for(lab: LabService, *, base_url: str) -> BearerVerifier:
    """The lab's verifier; when main does not load, homeport tokens only (the door still serves, and says why)."""
    try:
        return BearerVerifier.for_lab(lab, base_url=base_url)
    except ServiceError as exc:
        log.warning("identity.oidc not used: %s", exc)
        return BearerVerifier(lab, IdentityConfig(), base_url=base_url)


def credential_warnings(lab: LabService, ref: str | None = None) -> list[SecretWarning]:
    """Fields of homeport.yaml that seem to hold a secret instead of naming where it is kept."""
    return literal_secret_warnings(lab.state(ref).lab)
