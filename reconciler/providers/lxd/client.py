"""The one seam to LXD: pylxd's REST client, a call counter, operations waited on with deadlines."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pylxd
import requests
from pylxd.client import get_session_for_url

from reconciler.providers.errors import TransientProviderError
from reconciler.providers.lxd.errors import classify, lxd_errors
from reconciler.providers.lxd.facts import operation_id
from reconciler.providers.lxd.settings import LxdSettings

WAIT_SLICE = 30  # seconds per /wait request, so a long operation never outlasts an HTTP timeout


class LxdClient:
    """REST calls against one LXD endpoint (unix socket or HTTPS with a client certificate)."""

    def __init__(self, settings: LxdSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.calls = 0
        self._clock = clock
        cert = (
            (settings.client_cert_file, settings.client_key_file)
            if settings.client_cert_file and settings.client_key_file
            else None
        )
        session = None
        if settings.kind == "https":
            # requests lets REQUESTS_CA_BUNDLE (set on many hosts) replace a session's verify, which would
            # swap pylxd's pinned server certificate for the system bundle: this session ignores the environment.
            session = get_session_for_url(settings.endpoint, verify=settings.verify, cert=cert)
            session.trust_env = False
        with lxd_errors(f"connect to {settings.endpoint}"):
            self._client = pylxd.Client(
                endpoint=settings.endpoint,
                cert=cert,
                verify=settings.verify,
                timeout=settings.http_timeout,
                project=settings.project,
                session=session,
            )
        self.calls += 1  # pylxd reads GET /1.0 when it connects
        self._client.api.session.hooks["response"].append(self._count)
        self.server: dict[str, Any] = dict(self._client.host_info or {})

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.calls += 1

    @property
    def clustered(self) -> bool:
        """True when the endpoint is a member of an LXD cluster."""
        return bool((self.server.get("environment") or {}).get("server_clustered"))

    @property
    def server_name(self) -> str:
        """The server's own name (a cluster member name when clustered)."""
        return str((self.server.get("environment") or {}).get("server_name") or "lxd")

    def _node(self, path: str) -> Any:
        node = self._client.api
        for part in path.strip("/").split("/"):
            node = node[part]
        return node

    def get(self, path: str, what: str, **params: Any) -> Any:
        """GET /1.0/<path>: the answer's metadata."""
        with lxd_errors(what):
            return self._node(path).get(params=dict(params)).json().get("metadata")

    def get_raw(self, api_path: str, what: str, params: dict[str, str]) -> bytes:
        """GET a raw body (files API: params carries the file's path)."""
        with lxd_errors(what):
            return bytes(self._node(api_path).get(params=params, is_api=False).content)

    def request(self, method: str, path: str, what: str, *, wait: bool = True, **kwargs: Any) -> Any:
        """POST/PUT/PATCH/DELETE; an async answer's operation is waited on (deadline operation_timeout)."""
        kwargs["params"] = dict(kwargs.get("params") or {})  # pylxd adds the project to it
        with lxd_errors(what):
            answer = getattr(self._node(path), method)(**kwargs).json()
        op = operation_id(answer) if answer.get("type") == "async" else None
        if op and wait:
            return self.wait(op, what)
        return answer.get("metadata")

    def wait(self, op: str, what: str) -> Any:
        """Wait for operation op until operation_timeout; its metadata on success, a provider error if not."""
        deadline = self._clock() + self.settings.operation_timeout
        while True:
            left = deadline - self._clock()
            if left <= 0:
                raise TransientProviderError(
                    f"lxd: {what}: operation {op} still running after {self.settings.operation_timeout:g}s "
                    "(options.operation_timeout); it goes on in LXD and the next run looks again",
                    30.0,
                )
            with lxd_errors(what):
                meta = (
                    self._node(f"operations/{op}/wait")
                    .get(params={"timeout": int(min(WAIT_SLICE, max(left, 1)))}, timeout=WAIT_SLICE + 10)
                    .json()
                    .get("metadata")
                    or {}
                )
            status = str(meta.get("status") or "")
            if status == "Success":
                return meta.get("metadata")
            if status in ("Failure", "Cancelled"):
                raise classify(what, None, str(meta.get("err") or status))

    def close(self) -> None:
        """Drop the HTTP session."""
        self._client.api.session.close()
