"""The one seam to a Kubernetes API server: JSON requests through the official client's ApiClient.

Requests go out raw (no model deserialisation): a manifest of any kind can be applied, and answers
a newer client cannot parse (a 1.20 server answers a Service delete with a Status object where the
client expects a V1Service) are read as the JSON they are. Every request is counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from reconciler.providers.errors import PermanentProviderError, ProviderError
from reconciler.providers.kubernetes.errors import (
    API_ERRORS,
    CONFIG_ERRORS,
    NETWORK_ERRORS,
    FieldConflictError,
    api_error,
    config_error,
    connection_error,
    status_body,
)
from reconciler.providers.kubernetes.facts import conflict_fields
from reconciler.providers.kubernetes.settings import FIELD_MANAGER, KubernetesSettings

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"


def api_client(settings: KubernetesSettings) -> Any:
    """An ApiClient for the settings' cluster; PermanentProviderError when the config cannot load."""
    try:
        if settings.token is not None:
            configuration = k8s_client.Configuration()
            configuration.host = (settings.endpoint or "").rstrip("/")
            configuration.api_key = {"BearerToken": settings.token}
            configuration.api_key_prefix = {"BearerToken": "Bearer"}
            configuration.verify_ssl = settings.verify_tls
            if settings.ca_file:
                configuration.ssl_ca_cert = str(Path(settings.ca_file).expanduser())
            return k8s_client.ApiClient(configuration)
        if settings.options.in_cluster:
            configuration = k8s_client.Configuration()
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return k8s_client.ApiClient(configuration)
        path = str(Path(settings.options.kubeconfig).expanduser()) if settings.options.kubeconfig else None
        return k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=path, context=settings.options.context
        )
    except CONFIG_ERRORS as exc:
        raise config_error(exc, settings.source) from exc
    except OSError as exc:
        raise config_error(exc, settings.source) from exc


class KubeApi:
    """JSON in, JSON out; vendor errors mapped at this edge; `calls` counts requests."""

    def __init__(self, client: Any, timeout: float = 30.0) -> None:
        self.client = client
        self.timeout = timeout
        self.calls = 0

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        what: str = "",
    ) -> dict[str, Any]:
        """One request; the decoded JSON answer ({} when empty). Errors become ProviderErrors."""
        what = what or f"{method} {path}"
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        self.calls += 1
        try:
            serialized = self.client.param_serialize(
                method=method,
                resource_path=path,
                query_params=list((query or {}).items()),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.client.call_api(*serialized, _request_timeout=self.timeout)
            data = response.read()
        except API_ERRORS as exc:
            assert isinstance(exc, ApiException)
            raise api_error(exc, what) from exc
        except NETWORK_ERRORS as exc:
            raise connection_error(exc, what) from exc
        if not 200 <= response.status <= 299:
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")
            refused = ApiException(status=response.status, reason=response.reason, body=text)
            raise api_error(refused, what) from refused
        if not data:
            return {}
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise PermanentProviderError(
                f"{what}: the endpoint answered with something that is not JSON: is it a Kubernetes API server?"
            ) from exc
        return parsed if isinstance(parsed, dict) else {"items": parsed}

    def get(self, path: str, query: dict[str, str] | None = None, what: str = "") -> dict[str, Any]:
        """GET a path."""
        return self.request("GET", path, query=query, what=what)

    def list_all(self, path: str, selector: str, page: int = 500, what: str = "") -> list[dict[str, Any]]:
        """Every item of a collection matching a label selector (paged with limit/continue)."""
        items: list[dict[str, Any]] = []
        query = {"labelSelector": selector, "limit": str(page)} if selector else {"limit": str(page)}
        while True:
            answer = self.get(path, query, what)
            kind = str(answer.get("kind", "")).removesuffix("List")
            version = answer.get("apiVersion")
            for item in answer.get("items") or []:
                if (item.get("metadata") or {}).get("deletionTimestamp"):
                    continue  # being deleted (a finalizer holds it): already gone for homeport
                # List items carry no kind/apiVersion: give them the list's.
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", version)
                items.append(item)
            token = (answer.get("metadata") or {}).get("continue")
            if not token:
                return items
            query = {**query, "continue": token}

    def apply(
        self, path: str, manifest: dict[str, Any], *, force: bool, dry_run: bool = False, what: str = ""
    ) -> dict[str, Any]:
        """Server-side apply with field manager homeport; a FieldConflictError naming the fields on 409."""
        query = {"fieldManager": FIELD_MANAGER}
        if force:
            query["force"] = "true"
        if dry_run:
            query["dryRun"] = "All"
        try:
            return self.request(
                # JSON is YAML: the body goes out as text, exactly as written.
                "PATCH", path, query=query, body=json.dumps(manifest), content_type=APPLY_CONTENT_TYPE, what=what
            )
        except ProviderError as exc:
            cause = exc.__cause__
            if isinstance(cause, ApiException) and cause.status == 409:
                conflicts = conflict_fields(status_body(cause.body))
                raise FieldConflictError(str(exc), conflicts) from exc
            raise

    def delete(self, path: str, what: str = "") -> dict[str, Any]:
        """DELETE; the answer as JSON, whatever object the server returns.

        Background propagation: the object goes at once and the garbage collector removes what it owns
        (ReplicaSets, Pods); Foreground would leave it behind a finalizer until the collector has run.
        """
        return self.request(
            "DELETE",
            path,
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
            what=what,
        )

    def close(self) -> None:
        """Release the connection pool."""
        close = getattr(self.client, "close", None)
        if callable(close):
            close()


def quoted(text: str) -> str:
    """A path segment, percent-encoded."""
    return quote(text, safe="")
