"""A connection to one Docker engine (unix socket, ssh:// or tcp:// with TLS), with call counting.

Every Docker SDK call goes through `Engine`, which maps the SDK's errors to the provider error tree
at the edge, keeping the engine's own message, and counts API calls per kind (for the bench and for
`Inventory.api_calls`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import docker.tls
import requests

from reconciler.providers.docker.errors import map_error
from reconciler.providers.docker.settings import EngineSpec
from reconciler.providers.errors import PermanentProviderError

T = TypeVar("T")
MINIMUM_API_VERSION = "1.24"  # the oldest the Docker SDK speaks; only used to ask the engine for its own
CONNECT_TIMEOUT = 30


class Engine:
    """One engine's client, created on first use; all calls counted and errors mapped."""

    def __init__(self, spec: EngineSpec, api_version: str = "auto", timeout: int = CONNECT_TIMEOUT) -> None:
        self.spec = spec
        self.api_version = api_version
        self.timeout = timeout
        self.calls: Counter[str] = Counter()
        self._client: docker.APIClient | None = None

    @property
    def node(self) -> str:
        """The node this engine serves."""
        return self.spec.node

    def where(self, doing: str) -> str:
        """'engine nas (ssh://admin@nas.lan): doing', for messages."""
        return f"engine {self.spec.node} ({self.spec.display()}): {doing}"

    def _tls_config(self) -> docker.tls.TLSConfig | bool:
        tls = self.spec.tls
        if tls is None:
            return False
        for path in (tls.ca_file, tls.cert_file, tls.key_file):
            if path and not Path(path).expanduser().is_file():
                raise PermanentProviderError(f"engine {self.node}: TLS file {path} does not exist")
        cert = (
            (str(Path(tls.cert_file).expanduser()), str(Path(tls.key_file).expanduser()))
            if tls.cert_file and tls.key_file
            else None
        )
        ca = str(Path(tls.ca_file).expanduser()) if tls.ca_file else None
        return docker.tls.TLSConfig(client_cert=cert, ca_cert=ca, verify=ca if (tls.verify and ca) else tls.verify)

    def _new_client(self, tls: docker.tls.TLSConfig | bool, version: str) -> docker.APIClient:
        client = docker.APIClient(
            base_url=self.spec.endpoint,
            version=version,
            timeout=self.timeout,
            tls=tls,
            use_ssh_client=self.spec.scheme == "ssh",
        )
        if tls:
            # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE replace a session's CA; the engine's
            # configured CA must win, so a TLS engine's client ignores the environment.
            client.trust_env = False
        return client

    @property
    def client(self) -> docker.APIClient:
        """The low-level SDK client (raw API dicts: a listing never costs an inspect per container)."""
        if self._client is None:
            tls = self._tls_config()
            if self.api_version == "auto":
                self.calls["version"] += 1
            try:
                version = self.api_version
                if version == "auto":
                    probe = self._new_client(tls, MINIMUM_API_VERSION)
                    try:
                        version = str(probe.version(api_version=False)["ApiVersion"])
                    finally:
                        probe.close()
                self._client = self._new_client(tls, version)
            except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
                raise map_error(exc, self.where("connect")) from exc
        return self._client

    def call(self, kind: str, doing: str, fn: Callable[[docker.APIClient], T]) -> T:
        """Run one counted SDK call, mapping its errors."""
        client = self.client
        self.calls[kind] += 1
        try:
            return fn(client)
        except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
            raise map_error(exc, self.where(doing)) from exc

    def info(self) -> dict[str, Any]:
        """`docker info`: CPUs, memory, name, version."""
        return self.call("info", "read engine info", lambda c: c.info())

    def containers(self) -> list[dict[str, Any]]:
        """Every container (running or not), as listing summaries: one API call."""
        return self.call("containers", "list containers", lambda c: c.containers(all=True))

    def inspect(self, container_id: str) -> dict[str, Any] | None:
        """A container's full configuration and state; None when it vanished meanwhile."""
        try:
            result: dict[str, Any] = self.call(
                "inspect",
                f"inspect container {container_id[:12]}",
                lambda c: c.inspect_container(container_id),
            )
            return result
        except PermanentProviderError as exc:
            if isinstance(exc.__cause__, docker.errors.NotFound):
                return None
            raise

    def volumes(self) -> list[dict[str, Any]]:
        """Every volume."""
        result = self.call("volumes", "list volumes", lambda c: c.volumes())
        return list(result.get("Volumes") or [])

    def networks(self) -> list[dict[str, Any]]:
        """Every network."""
        return self.call("networks", "list networks", lambda c: c.networks())

    def missing_image(self, image: str) -> str | None:
        """The engine's own message when it does not hold an image (no pull is attempted), else None."""
        try:
            self.call("image", f"inspect image {image}", lambda c: c.inspect_image(image))
        except PermanentProviderError as exc:
            cause = exc.__cause__
            if isinstance(cause, docker.errors.NotFound):
                return str(cause.explanation or f"No such image: {image}")
            raise
        return None

    def services(self) -> list[dict[str, Any]]:
        """Every swarm service (the engine must be a swarm manager)."""
        return list(self.call("services", "list swarm services", lambda c: c.services()))

    def service(self, name: str) -> dict[str, Any]:
        """One swarm service, with its UpdateStatus."""
        result: dict[str, Any] = self.call("service", f"inspect service {name}", lambda c: c.inspect_service(name))
        return result

    def tasks(self, service: str | None = None) -> list[dict[str, Any]]:
        """Swarm tasks, of one service or of all."""
        filters = {"service": service} if service else None
        return list(self.call("tasks", "list swarm tasks", lambda c: c.tasks(filters=filters)))

    def swarm_nodes(self) -> list[dict[str, Any]]:
        """The swarm's nodes with their resources and state."""
        return list(self.call("nodes", "list swarm nodes", lambda c: c.nodes()))

    def ping(self) -> None:
        """Raise a provider error unless the engine answers."""
        self.call("ping", "ping", lambda c: c.ping())

    @property
    def total_calls(self) -> int:
        """API calls made so far."""
        return sum(self.calls.values())

    def close(self) -> None:
        """Close the connection."""
        if self._client is not None:
            self._client.close()
            self._client = None
