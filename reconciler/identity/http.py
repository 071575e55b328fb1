"""The one I/O seam of identity: JSON over HTTP to the identity provider, errors mapped to ours at the edge.

Callers pass an httpx.AsyncClient (one per verifier, reused for keep-alive); tests point it at real servers.
"""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.identity.errors import ProviderUnavailable

TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_BODY = 512 * 1024


def new_client() -> httpx.AsyncClient:
    """An HTTP client for talking to the identity provider (short timeouts, no redirects followed)."""
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, headers={"accept": "application/json"})


def _json(response: httpx.Response, url: str) -> dict[str, Any]:
    if len(response.content) > MAX_BODY:
        raise ProviderUnavailable(f"{url} answered more than {MAX_BODY // 1024} KiB")
    try:
        data = response.json()
    except ValueError as exc:
        raise ProviderUnavailable(f"{url} did not answer JSON (HTTP {response.status_code})") from exc
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"{url} answered JSON that is not an object")
    return data


async def get_json(client: httpx.AsyncClient, url: str, *, bearer: str | None = None) -> tuple[int, dict[str, Any]]:
    """GET url; (status, JSON object). A 4xx answer is returned for the caller to judge; 5xx or no answer raises."""
    headers = {"authorization": f"Bearer {bearer}"} if bearer else None
    try:
        response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"cannot reach {url}: {type(exc).__name__}") from exc
    if response.status_code >= 500 or (300 <= response.status_code < 400):
        raise ProviderUnavailable(f"{url} answered HTTP {response.status_code}")
    if response.status_code >= 400:
        return response.status_code, {}
    return response.status_code, _json(response, url)


async def post_form(client: httpx.AsyncClient, url: str, form: dict[str, str],
                    auth: tuple[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """POST a form (token endpoint, introspection); (status, JSON object). 5xx or no answer raises."""
    try:
        response = await client.post(url, data=form, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"cannot reach {url}: {type(exc).__name__}") from exc
    if response.status_code >= 500 or (300 <= response.status_code < 400):
        raise ProviderUnavailable(f"{url} answered HTTP {response.status_code}")
    try:
        return response.status_code, _json(response, url)
    except ProviderUnavailable:
        if response.status_code >= 400:
            return response.status_code, {}
        raise
