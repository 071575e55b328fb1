"""The person or agent behind a verified token, and how its claims become homeport scopes (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from reconciler.identity.errors import TokenRejected
from reconciler.models.identity import OidcConfig

SCOPES: tuple[str, ...] = ("read", "propose", "approve", "admin")

Source = Literal["token", "jwt", "introspection", "userinfo", "id_token"]


class Principal(BaseModel):
    """A verified identity: subject, issuer, the homeport scopes it holds; never the token itself.

    source "token" is one of homeport's own tokens (subject = its owner, issuer "homeport"); the others name how
    the identity provider's token was checked.
    """

    model_config = ConfigDict(frozen=True)

    subject: str
    issuer: str
    scopes: frozenset[str]
    source: Source
    name: str | None = None
    client_id: str | None = None
    audience: tuple[str, ...] = ()
    expires_at: int | None = None
    token_id: str | None = None
    token_name: str | None = None

    @property
    def actor(self) -> str:
        """The audit log's actor: the subject of a provider token, '<owner> via token <name>' for homeport's."""
        return f"{self.subject} via token {self.token_name}" if self.source == "token" else self.subject

    def allows(self, scope: str) -> bool:
        """Whether this principal holds scope (admin holds every scope)."""
        return scope in self.scopes or "admin" in self.scopes


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def claim_path(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name; a dotted name reaches into nested objects (Keycloak's 'realm_access.roles')."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def scopes_from_claims(claims: Mapping[str, Any], config: OidcConfig) -> frozenset[str]:
    """Homeport scopes granted by the scope claim (with config.scope_prefix) and by groups mapped in config.groups."""
    granted: set[str] = set()
    for item in _strings(claim_path(claims, config.scope_claim)):
        if item.startswith(config.scope_prefix):
            name = item[len(config.scope_prefix):]
            if name in SCOPES:
                granted.add(name)
    for group in _strings(claim_path(claims, config.groups_claim)):
        # Some providers send groups as paths ('/homelab/admins'); both spellings are looked up.
        granted.update(config.groups.get(group, ()))
        if group.startswith("/"):
            granted.update(config.groups.get(group.rsplit("/", 1)[-1], ()))
    return frozenset(granted)


def display_name(claims: Mapping[str, Any]) -> str | None:
    """A human-readable name for the principal, if the claims hold one."""
    for key in ("preferred_username", "name", "email"):
        value = claims.get(key)
        if isinstance(value, str) and value:
            return value[:200]
    return None


def audiences(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """The `aud` claim as a tuple (it may be one string or a list)."""
    return tuple(_strings(claims.get("aud")))


def principal_from_claims(claims: Mapping[str, Any], config: OidcConfig, issuer: str, source: Source) -> Principal:
    """The Principal for verified claims; the subject comes from config.subject_claim."""
    subject = claim_path(claims, config.subject_claim)
    if not isinstance(subject, str) or not subject:
        raise TokenRejected(f"the token has no '{config.subject_claim}' claim to name who is calling")
    expires = claims.get("exp")
    client = claims.get("azp") or claims.get("client_id")
    return Principal(subject=subject[:200], issuer=issuer, scopes=scopes_from_claims(claims, config), source=source,
                     name=display_name(claims), client_id=client if isinstance(client, str) else None,
                     audience=audiences(claims), expires_at=int(expires) if isinstance(expires, int | float) else None)
