"""Scoped bearer tokens for streamable HTTP, and who is calling a tool.

Scopes: `read` (discovery, status, advice, proposals list), `propose` (tools that open proposals),
`approve` (merge a proposal; never given to agents), `admin` (everything). Tokens are created with
`homeport token create --scopes read,propose` and stored as SHA-256 hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier

from reconciler.store.database import Database
from reconciler.store.tokens import SCOPES, verify_token

SCOPE_HELP = {
    "read": "discovery, status, advice, SOPs, proposals list/get",
    "propose": "tools that open a proposal branch (nothing changes until a person merges it)",
    "approve": "merge a proposal into main (people only; agents' tokens never get it)",
    "admin": "everything",
}


@dataclass(frozen=True)
class Caller:
    """Who is calling: token (or local user on stdio), its owner, scopes and client name."""

    actor: str
    scopes: frozenset[str]
    token_id: str | None = None
    token_name: str | None = None
    owner: str | None = None
    client: str | None = None
    kind: str = "agent"

    def allows(self, scope: str) -> bool:
        """Whether this caller holds scope (admin holds every scope)."""
        return scope in self.scopes or "admin" in self.scopes


def refusal(caller: Caller, scope: str, tool: str) -> str:
    """The message an agent gets when its token lacks a scope."""
    held = ", ".join(sorted(caller.scopes)) or "none"
    return (f"{tool} needs the '{scope}' scope ({SCOPE_HELP[scope]}); this caller has: {held}. "
            + ("Merging is a person's decision: ask them to run `homeport proposals approve <id>`."
               if scope == "approve" else
               "Ask the lab owner for a token with it: `homeport token create NAME --scopes "
               f"{'read' if scope == 'read' else 'read,' + scope}`."))


class HomeportTokenVerifier(TokenVerifier):
    """Checks bearer tokens against the lab's api_tokens table (hash lookup, revocation, expiry)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def verify_token(self, token: str) -> AccessToken | None:
        """An AccessToken for a valid token; client_id carries '<owner>/<token name>'."""
        if len(token) > 200 or not token.isascii():
            return None
        info = await anyio.to_thread.run_sync(lambda: verify_token(self.db, token))
        if info is None:
            return None
        expires = int(info.expires_at.timestamp()) if info.expires_at else None
        return AccessToken(token=f"id:{info.id}", client_id=f"{info.owner}/{info.name}",
                           scopes=[s for s in info.scopes if s in SCOPES], expires_at=expires)


def caller_from_token(access: AccessToken, client: str | None = None) -> Caller:
    """The caller behind a verified token (never holding the secret itself)."""
    owner, _, name = access.client_id.partition("/")
    token_id = access.token.removeprefix("id:")
    return Caller(actor=f"{owner} via token {name}", scopes=frozenset(access.scopes), token_id=token_id,
                  token_name=name, owner=owner, client=client)


def current_caller(request: Any, default: Caller, client: str | None = None) -> Caller:
    """The caller of this request: the HTTP request's verified token, else the server's local caller."""
    access = get_access_token()
    if access is None and request is not None:
        user = getattr(request, "scope", {}).get("user") if hasattr(request, "scope") else None
        access = getattr(user, "access_token", None)
    if access is None:
        return Caller(default.actor, default.scopes, owner=default.owner, client=client or default.client,
                      kind=default.kind)
    return caller_from_token(access, client)
