"""Who is calling a tool: homeport's scoped tokens, the lab's OIDC provider, and MCP as an OAuth protected resource.

Scopes: `read` (discovery, status, advice, proposals list), `propose` (tools that open proposals),
`approve` (merge a proposal; never given to agents), `admin` (everything). Tokens are created with
`homeport token create --scopes read,propose` and stored as SHA-256 hashes. With `identity.oidc` in
homeport.yaml, access tokens from the lab's identity provider are accepted too (docs/identity.md): the SDK's
`AuthSettings` names the provider in the Protected Resource Metadata (RFC 9728), its bearer middleware asks
`LabTokenVerifier`, and `ToolScopeGate` answers a provider token lacking a tool's scope with 403
`insufficient_scope` naming the scope, so the client can step up.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server.caller import SCOPE_HELP, SCOPES, Caller, refusal
from reconciler.service.identity import BearerVerifier, Principal

__all__ = ["SCOPES", "SCOPE_HELP", "Caller", "current_caller", "refusal"]

log = logging.getLogger("homeport.mcp")

SOURCE_CLAIM = "homeport/source"
MAX_GATED_BODY = 4 * 1024 * 1024


def held_scopes(scopes: frozenset[str], prefix: str) -> list[str]:
    """The scopes a token presents to the SDK's scope checks: admin expanded, and each also under prefix."""
    plain = set(SCOPES) if "admin" in scopes else {s for s in scopes if s in SCOPES}
    return sorted(plain | {prefix + s for s in plain}) if prefix else sorted(plain)


def access_token_for(principal: Principal, prefix: str = "") -> AccessToken:
    """The SDK's AccessToken for a verified principal (an id, never the secret)."""
    if principal.source == "token":
        return AccessToken(token=f"id:{principal.token_id}", client_id=f"{principal.subject}/{principal.token_name}",
                           scopes=held_scopes(principal.scopes, prefix), expires_at=principal.expires_at,
                           claims={SOURCE_CLAIM: "token"})
    return AccessToken(token=f"oidc:{principal.subject}", client_id=principal.client_id or f"oidc:{principal.subject}",
                       scopes=held_scopes(principal.scopes, prefix), expires_at=principal.expires_at,
                       resource=principal.audience[0] if principal.audience else None, subject=principal.subject,
                       claims={"iss": principal.issuer, SOURCE_CLAIM: principal.source, "name": principal.name})


class LabTokenVerifier(TokenVerifier):
    """The SDK's TokenVerifier over the lab's one bearer check (homeport tokens, then the OIDC provider)."""

    def __init__(self, bearer: BearerVerifier) -> None:
        self.bearer = bearer

    async def verify_token(self, token: str) -> AccessToken | None:
        """An AccessToken for a valid token; client_id carries '<owner>/<token name>' or the OIDC client."""
        principal = await self.bearer.verify(token)
        return access_token_for(principal, self.bearer.scope_prefix) if principal is not None else None


def from_provider(access: AccessToken) -> bool:
    """Whether a verified token came from the identity provider (not a homeport token)."""
    return bool((access.claims or {}).get(SOURCE_CLAIM, "token") != "token")


def caller_from_token(access: AccessToken, client: str | None = None) -> Caller:
    """The caller behind a verified token (never holding the secret itself); an OIDC caller acts as its subject."""
    scopes = frozenset(s for s in access.scopes if s in SCOPES)
    if from_provider(access) and access.subject:
        return Caller(actor=access.subject, scopes=scopes, owner=access.subject, client=client)
    owner, _, name = access.client_id.partition("/")
    token_id = access.token.removeprefix("id:")
    return Caller(actor=f"{owner} via token {name}", scopes=scopes, token_id=token_id, token_name=name, owner=owner,
                  client=client)


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


@dataclass(frozen=True)
class HttpAuth:
    """How /mcp is protected: the SDK's settings, the verifier and the resource's metadata."""

    settings: AuthSettings
    verifier: LabTokenVerifier
    resource: str
    scope_prefix: str

    @property
    def metadata_url(self) -> str:
        """Where the Protected Resource Metadata is (RFC 9728 §3.1: the resource path after the well-known)."""
        return str(build_resource_metadata_url(AnyHttpUrl(self.resource)))


RefusalAudit = Callable[[Caller, str, str], None]  # (caller, tool, message), blocking: run on a worker thread
_HTTP_AUTH: weakref.WeakKeyDictionary[Any, tuple[HttpAuth, RefusalAudit | None]] = weakref.WeakKeyDictionary()


def http_auth_for(app: Any, public_url: str) -> HttpAuth:
    """HTTP auth for the lab a HomeportApp serves (its identity section read from main once)."""
    identity = app.state().lab.spec.identity
    return http_auth(BearerVerifier(app.service, identity, base_url=public_url))


def http_auth(bearer: BearerVerifier) -> HttpAuth:
    """The SDK auth settings for /mcp: the lab's OIDC issuer as authorization server when configured."""
    oidc = bearer.oidc
    issuer = oidc.config.issuer if oidc is not None else bearer.base_url
    # Strings, not AnyHttpUrl(...): the settings keep a path-less issuer without a trailing slash (RFC 8414
    # compares issuers as exact strings). The verifier checks the audience itself (a JWT's aud, introspection's).
    settings = AuthSettings.model_validate({
        "issuer_url": issuer, "resource_server_url": bearer.resource, "validate_token_resource": False,
        "required_scopes": [bearer.scope_prefix + "read"] if oidc is not None else None})
    return HttpAuth(settings=settings, verifier=LabTokenVerifier(bearer), resource=bearer.resource,
                    scope_prefix=bearer.scope_prefix)


def install_http_auth(server: Any, auth: HttpAuth, audit: RefusalAudit | None = None) -> None:
    """Remember auth (and how to audit a refused call) for server; serve the resource metadata at the root too."""
    _HTTP_AUTH[server] = (auth, audit)
    metadata = ProtectedResourceMetadata.model_validate({
        "resource": auth.resource, "authorization_servers": [str(auth.settings.issuer_url)],
        "scopes_supported": auth.settings.required_scopes})
    handler = ProtectedResourceMetadataHandler(metadata)
    if build_resource_metadata_url(AnyHttpUrl(auth.resource)).path != "/.well-known/oauth-protected-resource":

        @server.custom_route("/.well-known/oauth-protected-resource", methods=["GET"])
        async def root_metadata(request: Request) -> Response:
            return await handler.handle(request)


def _tool_calls(body: bytes) -> list[str]:
    try:
        data = json.loads(body)
    except ValueError:
        return []
    messages = data if isinstance(data, list) else [data]
    names = []
    for message in messages:
        if isinstance(message, dict) and message.get("method") == "tools/call":
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if isinstance(name, str):
                names.append(name)
    return names


class ToolScopeGate:
    """Before any bearer token (homeport's own or the identity provider's) reaches a tool it lacks the scope for:
    403 insufficient_scope naming the scope (MCP authorization spec), audited as a refused call.

    Sits on the /mcp route, after the SDK's bearer authentication has put the user in the request scope.
    """

    def __init__(self, app: ASGIApp, scope_of: Callable[[], Awaitable[dict[str, str]]], auth: HttpAuth,
                 audit: RefusalAudit | None = None) -> None:
        self.app, self.scope_of, self.auth, self.audit = app, scope_of, auth, audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if scope["type"] != "http" or scope.get("method") != "POST" or not isinstance(user, AuthenticatedUser):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size <= MAX_GATED_BODY:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not more:
            caller = caller_from_token(user.access_token)
            needed = await self.scope_of()
            for tool in _tool_calls(body):
                scope_needed = needed.get(tool)
                if scope_needed is not None and not caller.allows(scope_needed):
                    reason = self._description(tool, scope_needed)
                    if self.audit is not None:
                        await anyio.to_thread.run_sync(self.audit, caller, tool, reason)
                    await self._forbidden(send, scope_needed, reason)
                    return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        await self.app(scope, replay, send)

    def _description(self, tool: str, needed: str) -> str:
        return f"{tool} needs the '{self.auth.scope_prefix + needed}' scope ({SCOPE_HELP[needed]})"

    async def _forbidden(self, send: Send, needed: str, description: str) -> None:
        scope_name = self.auth.scope_prefix + needed
        challenge = (f'Bearer error="insufficient_scope", scope="{scope_name}", '
                     f'resource_metadata="{self.auth.metadata_url}", error_description="{description}"')
        body = json.dumps({"error": "insufficient_scope", "error_description": description, "scope": scope_name})
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", challenge.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body.encode()})


def protect_tools(app: Starlette, server: Any) -> Starlette:
    """Put ToolScopeGate on the /mcp route of the app the SDK built (when the server has HTTP auth)."""
    installed = _HTTP_AUTH.get(server)
    if installed is None:
        return app
    auth, audit = installed
    cache: dict[str, str] = {}
    lock = anyio.Lock()

    async def scope_of() -> dict[str, str]:
        async with lock:
            if not cache:
                for tool in await server.list_tools():
                    scope = (tool.meta or {}).get("homeport/scope")
                    if isinstance(scope, str):
                        cache[tool.name] = scope
        return cache

    for route in app.routes:
        if isinstance(route, Route) and route.path == "/mcp":
            route.app = ToolScopeGate(route.app, scope_of, auth, audit)
            return app
    raise RuntimeError("the MCP app has no /mcp route to protect")
