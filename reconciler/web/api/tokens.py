"""API tokens (admin scope): list, create (the secret is in the answer once), revoke."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from reconciler.service import commands
from reconciler.service.views import CreatedToken, TokenView
from reconciler.web.api.params import DEFAULT, Cursor, Limit
from reconciler.web.auth import requires, scope_extra
from reconciler.web.context import context_of
from reconciler.web.listing import token_entries
from reconciler.web.paging import Page
from reconciler.web.principal import Principal
from reconciler.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["tokens"], responses=PROBLEM_RESPONSES)
ADMIN = [Depends(requires("admin"))]
Scope = Literal["read", "propose", "approve", "admin"]


class TokenRequest(BaseModel):
    """A token to create."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    scopes: list[Scope] = Field(min_length=1, max_length=4, description="Agents get read, propose")
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class Revoked(BaseModel):
    """How many tokens were revoked."""

    revoked: int


@router.get("/tokens", dependencies=ADMIN, openapi_extra=scope_extra("admin"))
def list_tokens(request: Request, limit: Limit = DEFAULT, cursor: Cursor = None) -> Page[TokenView]:
    """Every token of the lab (revoked ones too), oldest first; never a secret."""
    return token_entries(context_of(request), limit=limit, cursor=cursor)


@router.post("/tokens", status_code=201, openapi_extra=scope_extra("admin"))
def create_token(request: Request, body: TokenRequest,
                 principal: Principal = Depends(requires("admin"))) -> CreatedToken:
    """A new token; its secret is in this answer once and stored only as a hash."""
    ctx = context_of(request)
    return ctx.call(lambda: commands.create_token(ctx.lab, name=body.name, scopes=list(body.scopes),
                                                  owner=principal.owner, expires_in_days=body.expires_in_days))


@router.delete("/tokens/{token}", dependencies=ADMIN, openapi_extra=scope_extra("admin"))
def revoke_token(request: Request, token: str = Path(max_length=100, description="Token id or name")) -> Revoked:
    """Revoke active tokens by id or name."""
    ctx = context_of(request)
    return Revoked(revoked=ctx.call(lambda: commands.revoke_token(ctx.lab, token)))
