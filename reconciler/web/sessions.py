"""Browser sessions: a login with a token becomes a random session id in an HttpOnly, SameSite=Strict cookie.

The session lives in this process's memory (a restart logs people out) and keeps the token's secret there,
never in the cookie, so every request re-checks that the token is still valid (revoking a token ends its
sessions at once). Each session has its own CSRF token that every form and htmx request must echo.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.web.principal import Principal

SESSION_COOKIE = "homeport_session"
LOGIN_CSRF_COOKIE = "homeport_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_SESSIONS = 1000


@dataclass
class BrowserSession:
    """One logged-in browser."""

    id: str
    secret: str = field(repr=False)
    csrf: str = field(repr=False)
    last_seen: float
    identity: Principal | None = None  # an OIDC login: the verified person (no token secret to re-check)


class SessionStore:
    """Sessions by id, ended after an idle time; the oldest are dropped beyond MAX_SESSIONS."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._sessions: OrderedDict[str, BrowserSession] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, secret: str, identity: Principal | None = None) -> BrowserSession:
        """A new session for a verified token secret (or, with secret "", for a person logged in through OIDC)."""
        session = BrowserSession(id=secrets.token_urlsafe(32), secret=secret, csrf=secrets.token_urlsafe(32),
                                 last_seen=self.clock(), identity=identity)
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> BrowserSession | None:
        """The live session with this id (touching it), or None."""
        if not session_id or len(session_id) > 100:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.idle_seconds:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            self._sessions.move_to_end(session_id)
            return session

    def end(self, session_id: str | None) -> None:
        """Log a session out."""
        with self._lock:
            self._sessions.pop(session_id or "", None)


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())
