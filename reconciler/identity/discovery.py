"""OpenID Connect discovery: the provider's endpoints, read from <issuer>/.well-known/openid-configuration."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from reconciler.identity.errors import ProviderUnavailable
from reconciler.identity.http import get_json
from reconciler.models.identity import check_https_url


class ProviderMetadata(BaseModel):
    """The fields of an OpenID provider's metadata homeport uses (others are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    issuer: str
    jwks_uri: str
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    introspection_endpoint: str | None = None
    end_session_endpoint: str | None = None
    code_challenge_methods_supported: list[str] | None = None


def discovery_url(issuer: str) -> str:
    """Where an issuer publishes its metadata (OpenID Connect Discovery 1.0 §4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def parse_metadata(data: dict[str, object], issuer: str) -> ProviderMetadata:
    """Provider metadata checked against the configured issuer (the answer must name the same issuer)."""
    try:
        metadata = ProviderMetadata.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise ProviderUnavailable(f"{discovery_url(issuer)}: metadata lacks or mistypes {fields}") from exc
    if metadata.issuer.rstrip("/") != issuer.rstrip("/"):
        raise ProviderUnavailable(f"{discovery_url(issuer)} names issuer {metadata.issuer!r}, not {issuer!r}: set "
                                  "identity.oidc.issuer to exactly what the provider calls itself")
    for name in ("jwks_uri", "authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                 "introspection_endpoint"):
        url = getattr(metadata, name)
        if url is not None:
            try:
                check_https_url(url, name)
            except ValueError as exc:
                raise ProviderUnavailable(f"{discovery_url(issuer)}: {exc}") from exc
    return metadata


async def discover(client: httpx.AsyncClient, issuer: str) -> ProviderMetadata:
    """Fetch and check the provider's metadata."""
    url = discovery_url(issuer)
    status, data = await get_json(client, url)
    if status != 200:
        raise ProviderUnavailable(f"{url} answered HTTP {status}: is identity.oidc.issuer right?")
    return parse_metadata(data, issuer)
