"""The browser's OpenID Connect login: authorization code flow with PKCE, state and nonce, then the ID token checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from reconciler.identity.errors import LoginFailed, ProviderUnavailable, TokenRejected
from reconciler.identity.http import post_form
from reconciler.identity.opaque import userinfo
from reconciler.identity.principal import Principal, claim_path, principal_from_claims
from reconciler.identity.verifier import OidcVerifier

LOGIN_TTL_SECONDS = 600.0


@dataclass(frozen=True)
class PendingLogin:
    """What the server keeps between sending the browser to the provider and the provider sending it back."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next_path: str
    created_at: float


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def safe_next(path: str | None) -> str:
    """A local path to return to after login; anything else (another site, a scheme) becomes '/'."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return "/"
    return path[:2000]


def begin_login(authorization_endpoint: str, *, client_id: str, scopes: list[str], redirect_uri: str,
                next_path: str | None, now: float) -> tuple[str, PendingLogin]:
    """The provider URL to send the browser to, and the PendingLogin to keep until it comes back."""
    pending = PendingLogin(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                           code_verifier=secrets.token_urlsafe(64), redirect_uri=redirect_uri,
                           next_path=safe_next(next_path), created_at=now)
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
             "scope": " ".join(scopes), "state": pending.state, "nonce": pending.nonce,
             "code_challenge": pkce_challenge(pending.code_verifier), "code_challenge_method": "S256"}
    separator = "&" if "?" in authorization_endpoint else "?"
    return f"{authorization_endpoint}{separator}{urlencode(query)}", pending


class LoginStore:
    """Pending logins by state: in memory, bounded, each used at most once and only within LOGIN_TTL_SECONDS."""

    def __init__(self, *, size: int = 1000, clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.clock = size, clock
        self._items: OrderedDict[str, PendingLogin] = OrderedDict()

    def add(self, pending: PendingLogin) -> None:
        """Keep a pending login (the oldest is dropped past size)."""
        self._items[pending.state] = pending
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def take(self, state: str) -> PendingLogin | None:
        """The pending login for state, removed; None when unknown or too old."""
        pending = self._items.pop(state, None)
        if pending is None or self.clock() - pending.created_at > LOGIN_TTL_SECONDS:
            return None
        return pending


async def complete_login(verifier: OidcVerifier, pending: PendingLogin, code: str) -> Principal:
    """Exchange the code (with the PKCE verifier) and check the ID token (signature, iss, aud, exp, nonce)."""
    config = verifier.config
    if not config.client_id:
        raise LoginFailed("identity.oidc.client_id is not set: register homeport as a client at the provider")
    meta = await verifier.metadata()
    if not meta.token_endpoint:
        raise LoginFailed("the provider publishes no token_endpoint")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier}
    secret = verifier.client_secret()
    if secret is None:
        form["client_id"] = config.client_id
    try:
        async with verifier.http_client() as client:
            status, data = await post_form(client, meta.token_endpoint, form,
                                           auth=(config.client_id, secret) if secret is not None else None)
    except ProviderUnavailable as exc:
        raise LoginFailed(str(exc)) from exc
    if status != 200:
        error = data.get("error") if isinstance(data.get("error"), str) else f"HTTP {status}"
        raise LoginFailed(f"the provider refused the authorization code ({error})")
    id_token = data.get("id_token")
    if not isinstance(id_token, str):
        raise LoginFailed("the provider's token answer has no id_token: is 'openid' in identity.oidc.login_scopes?")
    try:
        claims = await verifier.verify_jwt(id_token, audience=config.client_id,
                                           required=("exp", "iat", "iss", "sub", "aud"))
    except (TokenRejected, ProviderUnavailable) as exc:
        raise LoginFailed(f"the ID token was refused: {exc}") from exc
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce, pending.nonce):
        raise LoginFailed("the ID token's nonce does not match this login (a replayed or foreign token)")
    azp = claims.get("azp")
    if azp is not None and azp != config.client_id:
        raise LoginFailed("the ID token was issued to another client (azp)")
    merged: dict[str, Any] = dict(claims)
    access = data.get("access_token")
    if claim_path(claims, config.groups_claim) is None and meta.userinfo_endpoint and isinstance(access, str):
        # Many providers put groups in userinfo only; the subject must be the same person.
        try:
            async with verifier.http_client() as client:
                extra = await userinfo(client, meta.userinfo_endpoint, access)
        except (TokenRejected, ProviderUnavailable) as exc:
            raise LoginFailed(f"the userinfo endpoint refused the fresh access token: {exc}") from exc
        if extra.get("sub") != claims.get("sub"):
            raise LoginFailed("userinfo names another subject than the ID token")
        merged = {**extra, **claims}
    try:
        return principal_from_claims(merged, config, verifier.issuer, "id_token")
    except TokenRejected as exc:
        raise LoginFailed(str(exc)) from exc
