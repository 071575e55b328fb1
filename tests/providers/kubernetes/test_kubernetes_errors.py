"""Vendor errors mapped at the edge: the API's own message, retry or not, never a raw vendor exception."""

from __future__ import annotations

import json

import pytest
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.kubernetes.errors import (
    API_ERRORS,
    CONFIG_ERRORS,
    NETWORK_ERRORS,
    NotFoundError,
    api_error,
    config_error,
    connection_error,
)


def status(code: int, reason: str, message: str) -> ApiException:
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                       "reason": reason, "code": code})
    return ApiException(status=code, reason=reason, body=body)


@pytest.mark.parametrize(
    ("code", "reason", "kind", "words"),
    [
        (404, "NotFound", NotFoundError, 'namespaces "x" not found'),
        (403, "Forbidden", PermanentProviderError, "RBAC"),
        (401, "Unauthorized", PermanentProviderError, "kubeconfig user or token"),
        (422, "Invalid", PermanentProviderError, "Unsupported value"),
        (429, "TooManyRequests", TransientProviderError, "throttled"),
        (500, "InternalError", TransientProviderError, "etcd"),
        (503, "ServiceUnavailable", TransientProviderError, "etcd"),
    ],
)
def test_api_statuses_map_to_the_error_tree(code: int, reason: str, kind: type, words: str) -> None:
    messages = {404: 'namespaces "x" not found', 422: 'Unsupported value: "XTP"', 429: "throttled"}
    message = messages.get(code, "etcd down")
    error = api_error(status(code, reason, message), "apply Service/web")
    assert type(error) is kind
    assert str(error).startswith(f"apply Service/web: HTTP {code} {reason}: ")
    assert words in str(error) or words in message


def test_network_and_config_failures() -> None:
    refused = urllib3.exceptions.MaxRetryError(None, "/version", "Connection refused")  # type: ignore[arg-type]
    assert isinstance(refused, NETWORK_ERRORS)
    assert isinstance(connection_error(refused, "list nodes"), TransientProviderError)
    assert "cannot reach the API server" in str(connection_error(refused, "list nodes"))
    missing = ConfigException("Invalid kube-config file. No configuration found.")
    assert isinstance(missing, CONFIG_ERRORS)
    assert str(config_error(missing, "kubeconfig ~/.kube/config")) == (
        "kubernetes: cannot load kubeconfig ~/.kube/config: Invalid kube-config file. No configuration found."
    )
    assert ApiException in API_ERRORS


def test_every_vendor_exception_class_is_mapped() -> None:
    """A new exception class in kubernetes.client.exceptions fails here until errors.py maps it."""
    import kubernetes.client.exceptions as vendor

    classes = {
        obj for obj in vars(vendor).values()
        if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == vendor.__name__
    }
    handled = {cls for cls in classes if issubclass(cls, API_ERRORS + CONFIG_ERRORS + NETWORK_ERRORS)}
    # The rest are raised only for bad client-side arguments (types, keys, values), which homeport never passes.
    client_side = {cls for cls in classes if cls.__name__ in {"OpenApiException", "ApiTypeError", "ApiValueError",
                                                              "ApiAttributeError", "ApiKeyError"}}
    assert classes - handled - client_side == set()
