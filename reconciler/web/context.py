"""What every route and page is handed: the open lab, the web settings, browser sessions, the run trigger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from starlette.requests import Request

from reconciler.service.identity import BearerVerifier
from reconciler.service.lab import LabService
from reconciler.web.sessions import SessionStore
from reconciler.web.settings import WebSettings
from reconciler.web.timestamps import utc_aware

T = TypeVar("T")


@dataclass
class WebContext:
    """One served lab. `trigger_run` asks whoever reconciles (the daemon's queue, or a thread of
    `homeport serve`) to run now; it returns what happened ("queued", "started", "running")."""

    lab: LabService
    settings: WebSettings = field(default_factory=WebSettings)
    sessions: SessionStore | None = None
    trigger_run: Callable[[str], str] | None = None
    bearer: BearerVerifier | None = None  # homeport tokens, then identity.oidc (docs/identity.md)

    def __post_init__(self) -> None:
        if self.sessions is None:
            self.sessions = SessionStore(self.settings.session_idle_minutes * 60.0)

    def call(self, fn: Callable[[], T]) -> T:
        """Run a service call under the lab's lock (routes run on worker threads; the lab is not thread-safe);
        timestamps in the answer are made UTC-aware."""
        return utc_aware(self.lab.run(fn))

    @property
    def session_store(self) -> SessionStore:
        """The browser sessions."""
        assert self.sessions is not None
        return self.sessions


def context_of(request: Request) -> WebContext:
    """The WebContext of the app serving this request."""
    ctx: WebContext = request.app.state.homeport
    return ctx
