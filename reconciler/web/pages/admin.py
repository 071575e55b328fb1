"""Tokens (admin scope): list, create (the secret is shown once, on the answer page), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from starlette.responses import RedirectResponse, Response

from reconciler.service import commands, queries
from reconciler.web.auth import csrf_checked, page_requires
from reconciler.web.context import context_of
from reconciler.web.pages.rendering import render
from reconciler.web.principal import Principal

router = APIRouter(include_in_schema=False)
SCOPES = ("read", "propose", "approve", "admin")


@router.get("/tokens", dependencies=[Depends(page_requires("admin"))])
def tokens(request: Request) -> Response:
    """Every token of the lab."""
    ctx = context_of(request)
    items = ctx.call(lambda: queries.tokens(ctx.lab))
    return render(request, "tokens.html", title="Tokens", tokens=items, scopes=SCOPES, created=None)


@router.post("/tokens", dependencies=[Depends(csrf_checked)])
def create_token(request: Request, name: Annotated[str, Form(max_length=100)],
                 scopes: Annotated[list[str], Form()],
                 expires_in_days: Annotated[str, Form(max_length=5)] = "",
                 principal: Principal = Depends(page_requires("admin"))) -> Response:
    """Create a token and show its secret once (this answer is not cached)."""
    ctx = context_of(request)
    days = int(expires_in_days) if expires_in_days.isdigit() else None
    created = ctx.call(lambda: commands.create_token(ctx.lab, name=name, scopes=[s for s in scopes if s in SCOPES],
                                                     owner=principal.owner, expires_in_days=days))
    items = ctx.call(lambda: queries.tokens(ctx.lab))
    response = render(request, "tokens.html", 201, title="Tokens", tokens=items, scopes=SCOPES, created=created)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/tokens/{token_id}/revoke", dependencies=[Depends(csrf_checked)])
def revoke(request: Request, token_id: Annotated[str, Path(max_length=100)],
           principal: Principal = Depends(page_requires("admin"))) -> Response:
    """Revoke a token."""
    ctx = context_of(request)
    ctx.call(lambda: commands.revoke_token(ctx.lab, token_id))
    return RedirectResponse("/tokens", status_code=303)
