"""The one seam to the PVE API: auth (API token or ticket), TLS, parameters, answers, call counting.

Requests go out through https.HttpsPool (keep-alive connections, standard library only). Every transport and
API error is mapped at this seam (errors.map_error) to TransientProviderError / PermanentProviderError with the
API's own message; secret values are scrubbed from every message. Logs name the method, path, status and time,
never parameter values or bodies (they carry cloud-init settings).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlparse

from pydantic_core import from_json

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError, ProviderError
from reconciler.providers.proxmox.errors import PveApiError, PveAuthError, map_error
from reconciler.providers.proxmox.https import HttpsPool, tls_context
from reconciler.providers.secrets import read_secret

DEFAULT_PORT = 8006
API_ROOT = "/api2/json/"
TICKET_RENEW_AFTER = 3600.0  # PVE tickets live two hours; renew after one, as PVE's own web UI does
log = logging.getLogger(__name__)
@dataclass
class ApiCall:
    """One request homeport made: method, path and the parameter names (values are not kept)."""

    method: str
    path: str
    params: tuple[str, ...] = ()


@dataclass
class Credentials:
    """Resolved login material. Values are only ever passed to proxmoxer, never formatted."""

    user: str
    token_name: str | None = None
    token_value: str | None = None
    password: str | None = None
    secrets: list[str] = field(default_factory=list)


def resolve_credentials(config: ProviderConfig) -> Credentials:
    """API token (token_id_env + token_secret_env/_file) by default; user + password (ticket) otherwise."""
    creds = config.credentials
    if creds.token_id_env or creds.token_secret_env or creds.token_secret_file:
        token_id = read_secret(env=creds.token_id_env, what="proxmox token id")
        secret = read_secret(env=creds.token_secret_env, file=creds.token_secret_file, what="proxmox token secret")
        if not token_id or "!" not in token_id:
            raise PermanentProviderError(
                "proxmox: the token id must look like user@realm!tokenname; set it in the variable "
                f"{creds.token_id_env or '(credentials.token_id_env)'}"
            )
        if not secret:
            raise PermanentProviderError("proxmox: no token secret; set credentials.token_secret_env or _file")
        user, _, name = token_id.partition("!")
        return Credentials(user=user, token_name=name, token_value=secret, secrets=[secret])
    if creds.username_env or creds.password_env or creds.password_file:
        login = read_secret(env=creds.username_env, what="proxmox user")
        password = read_secret(env=creds.password_env, file=creds.password_file, what="proxmox password")
        if not login or not password:
            raise PermanentProviderError("proxmox: ticket login needs credentials.username_env and password_env/_file")
        return Credentials(user=login, password=password, secrets=[password])
    raise PermanentProviderError(
        "proxmox: no credentials configured; set credentials.token_id_env and token_secret_env "
        "(an API token) in homeport.yaml"
    )


def parse_endpoint(endpoint: str | None) -> tuple[str, int]:
    """(host, port) of an https:// endpoint."""
    if not endpoint:
        raise PermanentProviderError("proxmox: endpoint is missing; set e.g. endpoint: https://pve1.lan:8006")
    url = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    if url.scheme != "https" or not url.hostname:
        raise PermanentProviderError(f"proxmox: endpoint {endpoint!r} must be an https:// URL")
    return url.hostname, url.port or DEFAULT_PORT


def encode_params(params: dict[str, Any]) -> str:
    """PVE form/query encoding: None left out, booleans as 1/0, lists as repeated keys."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((key, str(int(item)) if isinstance(item, bool) else str(item)))
    return urlencode(pairs)


def api_data(body: bytes) -> Any:
    """The `data` member of a PVE JSON answer."""
    if not body:
        return None
    parsed = from_json(body)
    return parsed.get("data") if isinstance(parsed, dict) else parsed


def api_errors(body: bytes) -> Any:
    """The per-field `errors` member of a PVE error answer, if it is JSON."""
    try:
        parsed = from_json(body) if body else None
    except ValueError:
        return None
    return parsed.get("errors") if isinstance(parsed, dict) else None


class PveClient:
    """A thin, counting client of the PVE API; the only place that talks HTTP to PVE."""

    def __init__(self, config: ProviderConfig, *, timeout: float = 30.0) -> None:
        self.host, self.port = parse_endpoint(config.endpoint)
        self._config = config
        self._timeout = timeout
        self._creds = resolve_credentials(config)
        self._pool: HttpsPool | None = None
        self._ticket: tuple[str, str, float] | None = None  # (ticket, CSRF token, monotonic time of login)
        self._login_lock = threading.Lock()
        self.calls = 0
        self.log: list[ApiCall] = []

    @property
    def user(self) -> str:
        """The user or token id homeport acts as (user@realm or user@realm!token)."""
        c = self._creds
        return f"{c.user}!{c.token_name}" if c.token_name else c.user

    @property
    def is_token(self) -> bool:
        """True for API token auth."""
        return self._creds.token_name is not None

    @property
    def connections_opened(self) -> int:
        """HTTPS connections opened so far (kept connections are reused across calls)."""
        return self._pool.opened if self._pool is not None else 0

    def _connections(self) -> HttpsPool:
        if self._pool is None:
            context = tls_context(ca_file=self._config.ca_file, verify=self._config.verify_tls)
            self._pool = HttpsPool(self.host, self.port, context, timeout=self._timeout)
        return self._pool

    def get(self, path: str, **params: Any) -> Any:
        """GET /api2/json/<path>."""
        return self._call("GET", path, params)

    def post(self, path: str, **params: Any) -> Any:
        """POST /api2/json/<path>."""
        return self._call("POST", path, params)

    def put(self, path: str, **params: Any) -> Any:
        """PUT /api2/json/<path>."""
        return self._call("PUT", path, params)

    def delete(self, path: str, **params: Any) -> Any:
        """DELETE /api2/json/<path>."""
        return self._call("DELETE", path, params)

    def _call(self, method: str, path: str, params: dict[str, Any]) -> Any:
        path = path.strip("/")
        self.calls += 1
        self.log.append(ApiCall(method, "/" + path, tuple(sorted(params))))
        try:
            return self._send(method, path, params, retry_login=True)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._map(exc, method, path) from exc

    def _send(self, method: str, path: str, params: dict[str, Any], *, retry_login: bool) -> Any:
        target = API_ROOT + quote(path, safe="/:@!$&'()*+,;=~")
        encoded = encode_params(params)
        body: bytes | None = None
        headers = {"Accept": "application/json", **self._auth_headers(method)}
        if method in ("POST", "PUT"):
            body = encoded.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif encoded:
            target += "?" + encoded
        started = time.perf_counter()
        answer = self._connections().request(method, target, body=body, headers=headers)
        log.debug("%s /%s -> %d (%.1f ms)", method, path, answer.status, (time.perf_counter() - started) * 1000)
        if answer.status == 401 and retry_login and not self.is_token and self._ticket is not None:
            self._ticket = None  # PVE forgot the ticket (restarted with a new key): log in once more
            return self._send(method, path, params, retry_login=False)
        if answer.status >= 400:
            raise PveApiError(answer.status, answer.reason, api_errors(answer.body))
        return api_data(answer.body)

    def _auth_headers(self, method: str) -> dict[str, str]:
        if self.is_token:
            return {"Authorization": f"PVEAPIToken={self.user}={self._creds.token_value}"}
        ticket, csrf = self._login()
        headers = {"Cookie": f"PVEAuthCookie={ticket}"}
        if method != "GET":
            headers["CSRFPreventionToken"] = csrf
        return headers

    def _login(self) -> tuple[str, str]:
        """A ticket and its CSRF token: the one held while younger than TICKET_RENEW_AFTER, else a new login."""
        with self._login_lock:
            held = self._ticket
            if held is not None and time.monotonic() - held[2] < TICKET_RENEW_AFTER:
                return held[0], held[1]
            form = encode_params({"username": self._creds.user, "password": self._creds.password})
            answer = self._connections().request(
                "POST", API_ROOT + "access/ticket", body=form.encode(),
                headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"})
            if answer.status != 200:
                raise PveAuthError(answer.status)
            data = api_data(answer.body) or {}
            if data.get("NeedTFA"):
                raise PveAuthError(answer.status, "the user needs a second factor; use an API token instead")
            self._ticket = (str(data["ticket"]), str(data["CSRFPreventionToken"]), time.monotonic())
            return self._ticket[0], self._ticket[1]

    def scrub(self, text: str) -> str:
        """text with every secret value replaced."""
        for secret in self._creds.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _map(self, exc: Exception, method: str, path: str) -> ProviderError:
        return map_error(exc, f"{method} /{path.strip('/')}", host=f"{self.host}:{self.port}", scrub=self.scrub)

    def close(self) -> None:
        """Close the kept connections."""
        if self._pool is not None:
            self._pool.close()
        self._pool = None
