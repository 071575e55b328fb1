"""Push webhooks from GitHub and Gitea: HMAC-SHA256 signature check and payload reading (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PushEvent:
    """A verified delivery: which forge, which event, and for a push the ref and new head."""

    forge: str
    event: str
    ref: str | None = None
    after: str | None = None


class WebhookRefused(Exception):
    """A delivery that must not trigger anything; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def _expected(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_push(headers: Mapping[str, str], body: bytes, secret: bytes | None) -> PushEvent:
    """Check the signature (GitHub `X-Hub-Signature-256: sha256=<hex>`, Gitea `X-Gitea-Signature: <hex>`).

    `headers` must be case-insensitive (Starlette's are). Raises WebhookRefused when the secret is
    not configured, the signature is missing or wrong, or the body is not a JSON object.
    """
    if not secret:
        raise WebhookRefused("webhooks are off: set HOMEPORT_WEBHOOK_SECRET (or _FILE) on the daemon", 403)
    if headers.get("x-gitea-event") or headers.get("x-gitea-signature"):
        forge, event, given = "gitea", headers.get("x-gitea-event", ""), headers.get("x-gitea-signature", "")
    elif headers.get("x-github-event") or headers.get("x-hub-signature-256"):
        forge, event = "github", headers.get("x-github-event", "")
        given = headers.get("x-hub-signature-256", "").removeprefix("sha256=")
    else:
        raise WebhookRefused("not a GitHub or Gitea delivery (no X-GitHub-Event / X-Gitea-Event header)", 400)
    if not given:
        raise WebhookRefused(f"{forge} delivery without a signature header")
    if not hmac.compare_digest(given.strip().lower(), _expected(secret, body)):
        raise WebhookRefused(f"{forge} delivery with a bad signature")
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise WebhookRefused("signed body is not JSON", 400) from None
    if not isinstance(payload, dict):
        raise WebhookRefused("signed body is not a JSON object", 400)
    ref = payload.get("ref") if isinstance(payload.get("ref"), str) else None
    after = payload.get("after") if isinstance(payload.get("after"), str) else None
    return PushEvent(forge=forge, event=event, ref=ref, after=after)


def sign(secret: bytes, body: bytes) -> str:
    """The hex HMAC-SHA256 a forge sends (for tests, benches and `curl` examples)."""
    return _expected(secret, body)
