"""The provider's signing keys (JWKS): parsed once, looked up by key id, refetched on rotation at a bounded rate."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import jwt
from jwt.exceptions import PyJWKError

from reconciler.identity.errors import ProviderUnavailable, TokenRejected

# Which JWK key type may carry which algorithm; a key of another type is never tried.
KEY_TYPE_OF = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def key_type_for(alg: str) -> str:
    """The JWK `kty` an algorithm needs (RS256 -> RSA, ES256 -> EC, EdDSA -> OKP)."""
    return KEY_TYPE_OF[alg[:2]]


class KeySet:
    """Public keys from one JWKS document, by key id; prepared key objects are cached per (kid, alg)."""

    def __init__(self, document: dict[str, Any]) -> None:
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise ProviderUnavailable("the JWKS document has no 'keys' list")
        self.jwks: list[dict[str, Any]] = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"
                                           and isinstance(k.get("kty"), str)]
        self._prepared: dict[tuple[str | None, str], Any] = {}

    def kids(self) -> set[str]:
        """Key ids present."""
        return {str(k["kid"]) for k in self.jwks if "kid" in k}

    def _find(self, kid: str | None, alg: str) -> dict[str, Any] | None:
        kty = key_type_for(alg)
        if kid is not None:
            return next((k for k in self.jwks if k.get("kid") == kid), None)
        # No kid in the header: only unambiguous when one key of the right type exists.
        candidates = [k for k in self.jwks if k["kty"] == kty]
        return candidates[0] if len(candidates) == 1 else None

    def has(self, kid: str | None, alg: str) -> bool:
        """Whether a key for (kid, alg) is present."""
        return self._find(kid, alg) is not None

    def key_for(self, kid: str | None, alg: str) -> Any:
        """The prepared public key for a token header's kid and alg; TokenRejected when it cannot be used."""
        cached = self._prepared.get((kid, alg))
        if cached is not None:
            return cached
        jwk = self._find(kid, alg)
        if jwk is None:
            raise TokenRejected(f"no signing key with kid {kid!r} at the provider")
        if jwk["kty"] != key_type_for(alg):
            raise TokenRejected(f"key {kid!r} is a {jwk['kty']} key; the token claims {alg}")
        if jwk.get("alg") not in (None, alg):
            raise TokenRejected(f"key {kid!r} is for {jwk['alg']}; the token claims {alg}")
        try:
            prepared = jwt.PyJWK(jwk, algorithm=alg).key
        except PyJWKError as exc:
            raise TokenRejected(f"key {kid!r} cannot be used for {alg}: {exc}") from exc
        self._prepared[(kid, alg)] = prepared
        return prepared


class JwksCache:
    """The current KeySet, refreshed when older than max_age and, for an unknown kid, at most every min_refresh s.

    The bound keeps a stream of tokens with made-up key ids from turning homeport into a load on the provider.
    """

    def __init__(self, fetch: Callable[[], Awaitable[dict[str, Any]]], *, min_refresh: float = 30.0,
                 max_age: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self.min_refresh = min_refresh
        self.max_age = max_age
        self.clock = clock
        self.keys: KeySet | None = None
        self.fetched_at: float | None = None
        self.fetches = 0
        self._lock = anyio.Lock()

    def current(self) -> KeySet | None:
        """The cached KeySet if it is fresh enough to use without asking the provider."""
        if self.keys is None or self.fetched_at is None or self.clock() - self.fetched_at > self.max_age:
            return None
        return self.keys

    async def _load(self) -> KeySet:
        document = await self._fetch()
        keys = KeySet(document)
        self.keys, self.fetched_at = keys, self.clock()
        self.fetches += 1
        return keys

    async def get(self) -> KeySet:
        """A fresh KeySet (fetched when none is cached or it is older than max_age)."""
        keys = self.current()
        if keys is not None:
            return keys
        async with self._lock:
            return self.current() or await self._load()

    async def refresh_for(self, kid: str | None, alg: str) -> KeySet | None:
        """Refetch because a token names a key not in the cache; None when the last fetch is too recent."""
        async with self._lock:
            if self.keys is not None and self.keys.has(kid, alg):
                return self.keys  # another request refreshed meanwhile
            if self.fetched_at is not None and self.clock() - self.fetched_at < self.min_refresh:
                return None
            return await self._load()
