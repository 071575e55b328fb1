"""The OIDC access-token verifier: JWTs against the provider's JWKS, opaque tokens by introspection or userinfo."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from reconciler.identity.discovery import ProviderMetadata, discover
from reconciler.identity.errors import ConfigurationError, IdentityError, ProviderUnavailable, TokenRejected
from reconciler.identity.http import get_json, new_client
from reconciler.identity.jwks import JwksCache, KeySet
from reconciler.identity.jwt_check import check_signature, check_times, looks_like_jwt, read_header
from reconciler.identity.opaque import AnswerCache, check_introspection, introspect, token_digest, userinfo
from reconciler.identity.principal import Principal, principal_from_claims
from reconciler.identity.secret_refs import read_client_secret
from reconciler.models.identity import IdentityConfig, OidcConfig

log = logging.getLogger("homeport.identity")

# After a failed discovery, wait this long before asking the provider again.
DISCOVERY_RETRY_SECONDS = 5.0


def resource_url(identity: IdentityConfig, fallback_base: str) -> str:
    """The MCP resource this homeport is (RFC 8707/9728): <public_url>/mcp, or the serving address's."""
    return (identity.public_url or fallback_base.rstrip("/")) + "/mcp"


class OidcVerifier:
    """Verifies access tokens from the configured provider; returns a Principal or raises TokenRejected.

    Discovery and the JWKS are fetched lazily and cached; a JWT whose key is cached is verified without I/O.
    """

    def __init__(self, config: OidcConfig, *, audience: str | None = None,
                 http_client: Callable[[], httpx.AsyncClient] = new_client,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.audience = config.audience or audience
        if config.access_tokens in ("jwt", "introspection") and not self.audience:
            raise ConfigurationError("identity.oidc: set audience (or identity.public_url) so tokens issued for other "
                                     "services are refused")
        # A client per exchange: verifiers outlive event loops (tests, worker threads), pooled connections do not.
        self.http_client = http_client
        self.clock = clock
        self.monotonic = monotonic
        self._metadata: ProviderMetadata | None = None
        self._metadata_failed_at: float | None = None
        self._metadata_lock = anyio.Lock()
        self.jwks = JwksCache(self._fetch_jwks, min_refresh=float(config.jwks_min_refresh_seconds), clock=monotonic)
        self.answers = AnswerCache(clock=clock)
        self._secret: str | None = None

    @property
    def issuer(self) -> str:
        """The issuer tokens must name (the discovery document's spelling once known)."""
        return self._metadata.issuer if self._metadata else self.config.issuer

    async def metadata(self) -> ProviderMetadata:
        """The provider's metadata, discovered once (a failure is retried after a short pause)."""
        if self._metadata is not None:
            return self._metadata
        async with self._metadata_lock:
            if self._metadata is not None:
                return self._metadata
            if self._metadata_failed_at is not None and \
                    self.monotonic() - self._metadata_failed_at < DISCOVERY_RETRY_SECONDS:
                raise ProviderUnavailable(f"identity provider {self.config.issuer} was unreachable moments ago")
            try:
                async with self.http_client() as client:
                    self._metadata = await discover(client, self.config.issuer)
            except ProviderUnavailable:
                self._metadata_failed_at = self.monotonic()
                raise
            return self._metadata

    async def _fetch_jwks(self) -> dict[str, Any]:
        meta = await self.metadata()
        async with self.http_client() as client:
            status, data = await get_json(client, meta.jwks_uri)
        if status != 200:
            raise ProviderUnavailable(f"{meta.jwks_uri} answered HTTP {status}")
        return data

    def client_secret(self) -> str | None:
        """The client secret, read from its environment variable or file when first needed."""
        if self._secret is None:
            self._secret = read_client_secret(self.config)
        return self._secret

    async def verify(self, token: str) -> Principal:
        """The principal behind an access token; TokenRejected (why) or ProviderUnavailable."""
        mode = self.config.access_tokens
        if mode == "jwt":
            if not looks_like_jwt(token):
                raise TokenRejected("not a JWT (identity.oidc.access_tokens is jwt)")
            claims = await self.verify_jwt(token, audience=self.audience)
            return principal_from_claims(claims, self.config, self.issuer, "jwt")
        cached = self.answers.get(token)
        if cached is not None:
            return cached
        meta = await self.metadata()
        if mode == "introspection":
            if not meta.introspection_endpoint:
                raise ProviderUnavailable("the provider publishes no introspection_endpoint; set "
                                          "identity.oidc.access_tokens to jwt or userinfo")
            assert self.config.client_id is not None  # the model requires it for introspection
            async with self.http_client() as client:
                data = await introspect(client, meta.introspection_endpoint, token, client_id=self.config.client_id,
                                        client_secret=self.client_secret())
            check_introspection(data, issuer=self.issuer, audience=self.audience)
            check_times(data, self.clock(), self.config.clock_skew_seconds)
            principal = principal_from_claims(data, self.config, self.issuer, "introspection")
        else:
            if not meta.userinfo_endpoint:
                raise ProviderUnavailable("the provider publishes no userinfo_endpoint")
            async with self.http_client() as client:
                data = await userinfo(client, meta.userinfo_endpoint, token)
            principal = principal_from_claims(data, self.config, self.issuer, "userinfo")
        self.answers.put(token, principal)
        return principal

    async def keys_for(self, kid: str | None, alg: str) -> KeySet:
        """A KeySet holding (kid, alg): the cache, else one bounded refetch; TokenRejected when still unknown."""
        keys = await self.jwks.get()
        if keys.has(kid, alg):
            return keys
        refreshed = await self.jwks.refresh_for(kid, alg)
        if refreshed is None or not refreshed.has(kid, alg):
            raise TokenRejected(f"no signing key with kid {kid!r} at the provider (JWKS refetched at most every "
                                f"{self.config.jwks_min_refresh_seconds} s)")
        return refreshed

    async def verify_jwt(self, token: str, *, audience: str | None,
                         required: tuple[str, ...] = ("exp", "iat", "iss", "sub")) -> dict[str, Any]:
        """Claims of a JWT signed by one of the provider's keys, for audience, within its validity window."""
        alg, kid = read_header(token, self.config.algorithms)
        keys = self.jwks.current()
        if keys is None or not keys.has(kid, alg):
            if self._metadata is None:
                await self.metadata()
            keys = await self.keys_for(kid, alg)
        claims = check_signature(token, keys.key_for(kid, alg), alg, issuer=self.issuer, audience=audience,
                                 required=required)
        check_times(claims, self.clock(), self.config.clock_skew_seconds)
        return claims

    async def try_verify(self, token: str) -> Principal | None:
        """The principal, or None after logging why the token was refused (never the token itself)."""
        try:
            return await self.verify(token)
        except TokenRejected as exc:
            log.info("OIDC token %s refused: %s", token_digest(token)[:12], exc)
        except IdentityError as exc:
            log.warning("OIDC token %s not checked: %s", token_digest(token)[:12], exc)
        return None
