"""Errors as `application/problem+json` (RFC 9457), mapped once from the service's error codes."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from reconciler.service.errors import ErrorCode, ServiceError, http_status

PROBLEM_TYPE = "https://homeport.invalid/problems/"
MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request too large",
    421: "Misdirected request",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}

CODE_OF_STATUS = {404: ErrorCode.not_found, 409: ErrorCode.conflict, 403: ErrorCode.forbidden,
                  401: ErrorCode.forbidden, 503: ErrorCode.unavailable}


class Problem(BaseModel):
    """An RFC 9457 problem detail, plus homeport's stable `code` and an optional `hint`."""

    type: str = Field(description="URI naming the kind of problem")
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong and what to do, for people")
    instance: str | None = Field(default=None, description="The request path")
    code: str = Field(description="not_found | invalid | conflict | forbidden | unavailable")
    hint: str | None = None
    errors: list[dict[str, Any]] | None = Field(default=None, description="Field errors of an invalid request")


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": TITLES[status],
             "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status in (400, 401, 403, 404, 409, 422, 503)
}


def problem(status: int, detail: str, *, code: ErrorCode | str | None = None, instance: str | None = None,
            hint: str | None = None, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """A problem+json response."""
    kind = str(code or CODE_OF_STATUS.get(status, ErrorCode.invalid))
    body = Problem(type=PROBLEM_TYPE + kind, title=TITLES.get(status, "Error"), status=status, detail=detail,
                   instance=instance, code=kind, hint=hint, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE,
                        headers=headers)


def status_of(exc: ServiceError) -> int:
    """The HTTP status of a service error: 400 for a malformed query parameter it names (a cursor this server
    did not make), otherwise what its code maps to."""
    return 400 if isinstance(getattr(exc, "parameter", None), str) else http_status(exc)


def service_problem(request: Request, exc: ServiceError) -> Response:
    """The response for a service error: its code decides the status; a malformed query parameter (an error
    naming one in `parameter`, such as a cursor this server did not make) is a 400 listing it in `errors`."""
    parameter = getattr(exc, "parameter", None)
    if isinstance(parameter, str):
        return problem(400, exc.message, code=exc.code, instance=request.url.path, hint=exc.hint,
                       errors=[{"loc": ["query", parameter], "msg": exc.message, "type": "value_error"}])
    return problem(http_status(exc), exc.message, code=exc.code, instance=request.url.path, hint=exc.hint)


def allowed_methods(request: Request) -> str:
    """Every method the request's path answers (a 405 names them all, not only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def http_problem(request: Request, exc: HTTPException) -> Response:
    """Starlette's HTTP errors (404 route, 405 method, our 401/403) as problems."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return problem(exc.status_code, str(exc.detail), instance=request.url.path, headers=headers or None)


def validation_problem(request: Request, exc: RequestValidationError) -> Response:
    """A request that does not match the schema: 422 naming each field."""
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
              for e in exc.errors()]
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem(422, f"the request is invalid: {where}", code=ErrorCode.invalid, instance=request.url.path,
                   errors=errors)
