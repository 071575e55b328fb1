"""Opaque access tokens: asked about at the provider (RFC 7662 introspection or userinfo), answers cached briefly."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx

from reconciler.identity.errors import ProviderUnavailable, TokenRejected
from reconciler.identity.http import get_json, post_form
from reconciler.identity.principal import Principal


def token_digest(token: str) -> str:
    """A stable, non-reversible key for a token (caches and logs never hold the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


class AnswerCache:
    """Recent verdicts on opaque tokens by digest: bounded in size, each kept at most ttl seconds and never past exp."""

    def __init__(self, *, ttl: float = 60.0, size: int = 1024, clock: Callable[[], float] = time.time) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._items: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, token: str) -> Principal | None:
        """The cached principal for token, if still fresh."""
        key = token_digest(token)
        item = self._items.get(key)
        if item is None:
            return None
        if self.clock() >= item[0]:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, token: str, principal: Principal) -> None:
        """Remember a verdict."""
        until = self.clock() + self.ttl
        if principal.expires_at is not None:
            until = min(until, float(principal.expires_at))
        self._items[token_digest(token)] = (until, principal)
        self._items.move_to_end(token_digest(token))
        while len(self._items) > self.size:
            self._items.popitem(last=False)


async def introspect(client: httpx.AsyncClient, endpoint: str, token: str, *, client_id: str,
                     client_secret: str | None) -> dict[str, Any]:
    """The RFC 7662 answer for an active token; TokenRejected for an inactive one."""
    form = {"token": token, "token_type_hint": "access_token"}
    auth = (client_id, client_secret) if client_secret is not None else None
    if auth is None:
        form["client_id"] = client_id
    status, data = await post_form(client, endpoint, form, auth=auth)
    if status in (401, 403):
        raise ProviderUnavailable(f"the introspection endpoint refused homeport's client credentials (HTTP {status}): "
                                  "check identity.oidc.client_id and the client secret")
    if status != 200:
        raise ProviderUnavailable(f"the introspection endpoint answered HTTP {status}")
    if data.get("active") is not True:
        raise TokenRejected("the provider says the token is not active (revoked, expired or unknown)")
    return data


def check_introspection(data: dict[str, Any], *, issuer: str, audience: str | None) -> None:
    """An active introspection answer must name our issuer (when it names one) and carry our audience."""
    iss = data.get("iss")
    if iss is not None and iss != issuer:
        raise TokenRejected(f"the token was issued by {iss!r}, not {issuer!r}")
    if audience is not None:
        aud = data.get("aud")
        auds = [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)] \
            if isinstance(aud, list) else []
        if audience not in auds:
            raise TokenRejected(f"the token is for another audience (expected {audience!r}): tokens are not passed "
                                "through from other services")


async def userinfo(client: httpx.AsyncClient, endpoint: str, token: str) -> dict[str, Any]:
    """The userinfo claims for an access token; TokenRejected when the provider does not accept the token."""
    status, data = await get_json(client, endpoint, bearer=token)
    if status in (400, 401, 403):
        raise TokenRejected("the provider's userinfo endpoint does not accept the token")
    if status != 200:
        raise ProviderUnavailable(f"the userinfo endpoint answered HTTP {status}")
    return data
