"""Rendering pages: one Jinja2 environment (autoescaped), the context every page gets, small filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from reconciler.service import browse
from reconciler.service.errors import ServiceError
from reconciler.web.context import WebContext
from reconciler.web.principal import Principal
from reconciler.web.sessions import CSRF_FIELD

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))

NAV = [("/", "Lab"), ("/proposals", "Proposals"), ("/runs", "Runs"), ("/deviations", "Drift"),
       ("/capacity", "Capacity"), ("/plan", "Plan"), ("/templates", "Templates"), ("/snapshots", "Snapshots"),
       ("/drill", "Drill"), ("/audit", "Audit")]


def when(value: datetime | str | None) -> str:
    """A timestamp for people: UTC, to the second."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short(value: str | None, n: int = 10) -> str:
    """A commit or id shortened."""
    return (value or "")[:n] or "—"


def as_json(value: Any) -> str:
    """A value as compact JSON for a table cell."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def seconds(value: Any) -> str:
    """A duration in seconds for people."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    return f"{number * 1000:.0f} ms" if number < 1 else f"{number:.2f} s"


TEMPLATES.env.filters.update(when=when, short=short, json=as_json, seconds=seconds)


def _last_run_id(ctx: WebContext) -> str:
    """The newest finished run, which the page shows: live updates announce runs after it."""
    try:
        run = ctx.call(lambda: browse.latest_finished_run(ctx.lab))
    except ServiceError:
        return ""
    return run.id if run is not None else ""


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """A page: the template with the caller, the CSRF token, the navigation and the lab's name."""
    principal: Principal | None = getattr(request.state, "principal", None)
    session = getattr(request.state, "session", None)
    ctx: WebContext = request.app.state.homeport
    context = {
        "request": request, "principal": principal, "csrf_field": CSRF_FIELD,
        "csrf": session.csrf if session is not None else values.pop("login_csrf", ""),
        "nav": NAV, "path": request.url.path,
        "can_run": ctx.trigger_run is not None,
        "last_run_id": _last_run_id(ctx) if principal is not None else "",
    }
    context.update(values)
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
