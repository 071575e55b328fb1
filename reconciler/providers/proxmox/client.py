"""The one seam to the PVE API: session, auth (API token or ticket), TLS, call counting.

Every vendor error is mapped at this seam (errors.map_error) to TransientProviderError / PermanentProviderError
with the API's own message; secret values are scrubbed from every message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from proxmoxer import ProxmoxAPI

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError, ProviderError
from reconciler.providers.proxmox.errors import map_error
from reconciler.providers.secrets import read_secret

DEFAULT_PORT = 8006
# proxmoxer logs every request body at INFO; bodies carry cloud-init settings, so keep them out of logs.
logging.getLogger("proxmoxer").setLevel(logging.WARNING)
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


class PveClient:
    """A thin, counting wrapper over proxmoxer; the only place that talks HTTP to PVE."""

    def __init__(self, config: ProviderConfig, *, timeout: float = 30.0) -> None:
        self.host, self.port = parse_endpoint(config.endpoint)
        self._config = config
        self._timeout = timeout
        self._creds = resolve_credentials(config)
        self._api: Any = None
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

    def _session(self) -> Any:
        if self._api is None:
            verify: bool | str = self._config.ca_file or self._config.verify_tls
            c = self._creds
            kwargs: dict[str, Any] = {
                "port": self.port,
                "user": c.user,
                "verify_ssl": verify,
                "timeout": self._timeout,
            }
            if c.token_name:
                kwargs.update(token_name=c.token_name, token_value=c.token_value)
            else:
                kwargs.update(password=c.password)
            try:
                self._api = ProxmoxAPI(self.host, **kwargs)
            except Exception as exc:  # login happens here for tickets
                raise self._map(exc, "POST", "access/ticket") from exc
        return self._api

    def get(self, path: str, **params: Any) -> Any:
        """GET /api2/json/<path>."""
        return self._call("get", path, params)

    def post(self, path: str, **params: Any) -> Any:
        """POST /api2/json/<path>."""
        return self._call("post", path, params)

    def put(self, path: str, **params: Any) -> Any:
        """PUT /api2/json/<path>."""
        return self._call("put", path, params)

    def delete(self, path: str, **params: Any) -> Any:
        """DELETE /api2/json/<path>."""
        return self._call("delete", path, params)

    def _call(self, method: str, path: str, params: dict[str, Any]) -> Any:
        path = path.strip("/")
        self.calls += 1
        self.log.append(ApiCall(method.upper(), "/" + path, tuple(sorted(params))))
        api = self._session()
        try:
            return getattr(api(path), method)(**params)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._map(exc, method.upper(), path) from exc

    def scrub(self, text: str) -> str:
        """text with every secret value replaced."""
        for secret in self._creds.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _map(self, exc: Exception, method: str, path: str) -> ProviderError:
        return map_error(exc, f"{method} /{path.strip('/')}", host=f"{self.host}:{self.port}", scrub=self.scrub)

    def close(self) -> None:
        """Drop the HTTP session."""
        if self._api is not None:
            session = getattr(getattr(self._api, "_store", {}).get("session"), "close", None)
            if callable(session):
                session()
        self._api = None
