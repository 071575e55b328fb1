"""Azure credentials and management clients for one provider instance, every HTTP call counted.

Credentials: azure-identity's DefaultAzureCredential chain (environment, workload identity, managed
identity, Azure CLI, ...) or a service principal whose tenant, client id and secret come from named
environment variables or a secrets file. `credential: none` (a test server on 127.0.0.1 only)
sends no token at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

from reconciler.providers.azure.settings import AzureSettings


class NoTokenCredential:
    """A credential for a local test endpoint: it is never asked for a token (no auth policy runs)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Never called: the clients are built without an authentication policy."""
        raise RuntimeError("credential 'none' has no token")


def build_credential(settings: AzureSettings) -> Any:
    """The azure-identity credential the settings name."""
    if settings.credential == "none":
        return NoTokenCredential()
    if settings.credential == "service-principal":
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(
            tenant_id=str(settings.tenant_id), client_id=str(settings.client_id),
            client_secret=str(settings.client_secret),
        )
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


@dataclass
class AzureClients:
    """Management clients per subscription, built on first use; `calls` lists every HTTP request sent."""

    settings: AzureSettings
    calls: list[str] = field(default_factory=list)
    on_response: list[Callable[[str, str, int], None]] = field(default_factory=list)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _credential: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, response: PipelineResponse[Any, Any]) -> None:
        request = response.http_request
        path = request.url.split("?", 1)[0]
        self.calls.append(f"{request.method} {path}")
        for hook in self.on_response:
            hook(request.method, path, response.http_response.status_code)

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "base_url": self.settings.endpoint,
            "polling_interval": self.settings.options.poll_seconds,
            "retry_total": self.settings.options.retry_total,
            "raw_response_hook": self._record,
            "user_agent": "homeport",
        }
        if self.settings.credential == "none":
            kwargs["authentication_policy"] = SansIOHTTPPolicy()
        return kwargs

    def _get(self, kind: str, subscription: str) -> Any:
        key = (kind, subscription)
        with self._lock:
            if key not in self._clients:
                if self._credential is None:
                    self._credential = build_credential(self.settings)
                cls = {"compute": ComputeManagementClient, "network": NetworkManagementClient,
                       "resources": ResourceManagementClient, "deployments": DeploymentsMgmtClient}[kind]
                self._clients[key] = cls(self._credential, subscription, **self._kwargs())
            return self._clients[key]

    def compute(self, subscription: str) -> Any:
        """azure-mgmt-compute for a subscription."""
        return self._get("compute", subscription)

    def network(self, subscription: str) -> Any:
        """azure-mgmt-network for a subscription."""
        return self._get("network", subscription)

    def resources(self, subscription: str) -> Any:
        """azure-mgmt-resource (resource groups) for a subscription."""
        return self._get("resources", subscription)

    def deployments(self, subscription: str) -> Any:
        """azure-mgmt-resource-deployments for a subscription."""
        return self._get("deployments", subscription)

    def close(self) -> None:
        """Close every client's transport."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        close = getattr(self._credential, "close", None)
        if callable(close):
            close()
