"""The `identity:` section of homeport.yaml: the lab's own OpenID Connect provider and how its claims map to scopes."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from reconciler.models.meta import StrictModel

HomeportScope = Literal["read", "propose", "approve", "admin"]

# Asymmetric algorithms only: a JWKS holds public keys, and an HMAC "verified" with a public key proves nothing.
ALLOWED_ALGORITHMS: tuple[str, ...] = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)
DEFAULT_ALGORITHMS: tuple[str, ...] = ("RS256", "PS256", "ES256", "EdDSA")


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ip_address(host).is_loopback
    except ValueError:
        return False


def check_https_url(value: str, what: str) -> str:
    """An https URL (http only on a loopback address, for a provider on the same machine)."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} {value!r} is not a URL: write it as https://host[/path]")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{what} {value!r} uses http: tokens and codes would cross the network in clear; use https "
                         "(http is accepted only on 127.0.0.1/localhost)")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} {value!r} must not carry a query or fragment")
    return value


class OidcConfig(StrictModel):
    """An OpenID Connect provider (Authelia, Authentik, Keycloak, Zitadel, Pocket ID, Dex) whose tokens homeport takes.

    Access tokens are checked as JWTs against the provider's JWKS, or (opaque tokens) by RFC 7662 introspection or the
    userinfo endpoint. Scopes come from the token's scope claim and from group membership mapped in `groups`.
    """

    issuer: str = Field(description="Issuer URL exactly as the provider's discovery document names it")
    audience: str | None = Field(
        default=None,
        description="The `aud` a JWT access token (or an introspection answer) must carry: this homeport. Default: "
        "identity.public_url + '/mcp' (the MCP resource, RFC 8707)",
    )
    access_tokens: Literal["jwt", "introspection", "userinfo"] = Field(
        default="jwt",
        description="How access tokens are checked: jwt (signature, iss, aud, exp), introspection (RFC 7662, needs "
        "client_id and a client secret), userinfo (the provider's userinfo endpoint; no audience to check)",
    )
    algorithms: list[str] = Field(default_factory=lambda: list(DEFAULT_ALGORITHMS),
                                  description="Signature algorithms accepted (asymmetric only)")
    scope_claim: str = Field(default="scope", description="Claim holding granted scopes (space-separated or a list)")
    scope_prefix: str = Field(default="", description="Prefix of homeport scopes in scope_claim, e.g. 'homeport:'")
    groups_claim: str = Field(default="groups", description="Claim holding the user's groups")
    groups: dict[str, list[HomeportScope]] = Field(
        default_factory=dict, description="Group name -> homeport scopes its members get")
    subject_claim: str = Field(default="sub", description="Claim recorded as the actor in the audit log")
    client_id: str | None = Field(default=None, description="This homeport's client id at the provider (web login, "
                                  "introspection)")
    client_secret_env: str | None = Field(default=None, description="Environment variable holding the client secret")
    client_secret_file: str | None = Field(default=None, description="File holding the client secret")
    login_scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"],
                                    description="Scopes the web login asks for (add 'groups' where the provider "
                                    "needs it for the groups claim)")
    clock_skew_seconds: int = Field(default=30, ge=0, le=300, description="Leeway for exp, nbf and iat")
    jwks_min_refresh_seconds: int = Field(
        default=30, ge=1, le=3600, description="An unknown key id refetches the JWKS at most this often")

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        return check_https_url(value, "issuer")

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if a not in ALLOWED_ALGORITHMS]
        if bad:
            raise ValueError(f"algorithm(s) {', '.join(bad)} not accepted: choose from {', '.join(ALLOWED_ALGORITHMS)} "
                             "(no 'none', no HS* shared-secret algorithms)")
        if not value:
            raise ValueError("algorithms must name at least one algorithm")
        return value

    @model_validator(mode="after")
    def _introspection_client(self) -> OidcConfig:
        if self.access_tokens == "introspection" and not self.client_id:
            raise ValueError("access_tokens: introspection needs client_id (and client_secret_env or "
                             "client_secret_file): the provider authenticates who asks")
        return self


class IdentityConfig(StrictModel):
    """Who may call homeport besides its own scoped tokens (which always work)."""

    public_url: str | None = Field(
        default=None,
        description="The URL agents and browsers reach homeport at (e.g. https://homeport.lan); the MCP resource "
        "is <public_url>/mcp and the web login's redirect <public_url>/login/oidc/callback",
    )
    oidc: OidcConfig | None = None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else check_https_url(value, "public_url").rstrip("/")
