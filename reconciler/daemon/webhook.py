"""Push webhooks from GitHub and Gitea: body size, HMAC-SHA256 signature, replay and payload checks.

Everything here runs before a delivery can trigger anything: the body is read only up to
`json_body_bytes` (a larger Content-Length is refused unread), the signature must be 64 hex digits
and match, the JSON may nest at most `json_depth` deep, and a signed body seen in the last hour (the
signature covers the body, not the delivery-id header, so the body is what is remembered), or one
whose signed `repository.pushed_at` is older than an hour, is a replay. Refusals are counted, and at
most a few per minute reach the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.models.limits import InputLimits, LimitExceeded, current_limits

_HEX_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
REPLAY_WINDOW_S = 3600.0
REPLAY_MEMORY = 10_000


@dataclass(frozen=True)
class PushEvent:
    """A verified delivery: which forge, which event, and for a push the ref and new head."""

    forge: str
    event: str
    ref: str | None = None
    after: str | None = None
    delivery: str | None = None
    pushed_at: float | None = None
    digest: str = ""


class WebhookRefused(Exception):
    """A delivery that must not trigger anything; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def _expected(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


async def read_body(headers: Mapping[str, str], chunks: AsyncIterator[bytes],
                    limits: InputLimits | None = None) -> bytes:
    """The request body, refused (413) from its Content-Length or as soon as it grows past json_body_bytes."""
    limit = (limits or current_limits()).json_body_bytes
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise WebhookRefused("malformed Content-Length", 400)
        if int(declared) > limit:
            raise WebhookRefused(str(LimitExceeded("json_body_bytes", limit, f"a body of {int(declared):,} bytes")),
                                 413)
    body = bytearray()
    async for chunk in chunks:
        body.extend(chunk)
        if len(body) > limit:
            raise WebhookRefused(str(LimitExceeded("json_body_bytes", limit, "a body larger than that")), 413)
    return bytes(body)


def verify_push(headers: Mapping[str, str], body: bytes, secret: bytes | None,
                limits: InputLimits | None = None) -> PushEvent:
    """Check the signature (GitHub `X-Hub-Signature-256: sha256=<hex>`, Gitea `X-Gitea-Signature: <hex>`).

    `headers` must be case-insensitive (Starlette's are). Raises WebhookRefused when the secret is
    not configured, the signature is missing, malformed or wrong, or the body is not a JSON object
    within json_depth.
    """
    limits = limits or current_limits()
    if not secret:
        raise WebhookRefused("webhooks are off: set HOMEPORT_WEBHOOK_SECRET (or _FILE) on the daemon", 403)
    if headers.get("x-gitea-event") or headers.get("x-gitea-signature"):
        forge, event, given = "gitea", headers.get("x-gitea-event", ""), headers.get("x-gitea-signature", "")
        delivery = headers.get("x-gitea-delivery")
    elif headers.get("x-github-event") or headers.get("x-hub-signature-256"):
        forge, event = "github", headers.get("x-github-event", "")
        given = headers.get("x-hub-signature-256", "").removeprefix("sha256=")
        delivery = headers.get("x-github-delivery")
    else:
        raise WebhookRefused("not a GitHub or Gitea delivery (no X-GitHub-Event / X-Gitea-Event header)", 400)
    if not given:
        raise WebhookRefused(f"{forge} delivery without a signature header")
    given = given.strip().lower()
    if not _HEX_SIGNATURE.match(given):
        raise WebhookRefused(f"{forge} delivery with a malformed signature (expected 64 hex digits)")
    if not hmac.compare_digest(given.encode("ascii"), _expected(secret, body).encode("ascii")):
        raise WebhookRefused(f"{forge} delivery with a bad signature")
    payload = _json_object(body, limits)
    ref = payload.get("ref") if isinstance(payload.get("ref"), str) else None
    after = payload.get("after") if isinstance(payload.get("after"), str) else None
    repository = payload.get("repository")
    pushed = repository.get("pushed_at") if isinstance(repository, dict) else None
    pushed_at = float(pushed) if isinstance(pushed, int | float) and not isinstance(pushed, bool) else None
    return PushEvent(forge=forge, event=event[:100], ref=ref, after=after, delivery=(delivery or "")[:100] or None,
                     pushed_at=pushed_at, digest=hashlib.sha256(body).hexdigest())


def _json_object(body: bytes, limits: InputLimits) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except RecursionError:
        too_deep = LimitExceeded("json_depth", limits.json_depth, "the signed body nests")
        raise WebhookRefused(str(too_deep), 400) from None
    except ValueError:
        raise WebhookRefused("signed body is not JSON", 400) from None
    if not isinstance(payload, dict):
        raise WebhookRefused("signed body is not a JSON object", 400)
    depth = json_depth(payload, limits.json_depth + 1)
    if depth > limits.json_depth:
        raise WebhookRefused(str(LimitExceeded("json_depth", limits.json_depth, f"the signed body nests {depth} deep")),
                             400)
    return payload


def json_depth(value: Any, stop: int) -> int:
    """Nesting depth of a JSON value (a scalar is 0), counting no further than `stop`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest >= stop:
                return deepest
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class ReplayGuard:
    """Remembers signed bodies for an hour: the same body again (whatever its delivery id) is a replay."""

    def __init__(self, window_s: float = REPLAY_WINDOW_S, memory: int = REPLAY_MEMORY,
                 clock: Callable[[], float] = time.time) -> None:
        self.window_s = window_s
        self.memory = memory
        self.clock = clock
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, event: PushEvent) -> None:
        """Raise WebhookRefused (409) for a replayed or stale delivery; remember this one otherwise."""
        now = self.clock()
        if event.pushed_at is not None and now - event.pushed_at > self.window_s:
            raise WebhookRefused(f"{event.forge} delivery of a push from {int(now - event.pushed_at)} s ago: stale "
                                 "or replayed (pushes older than an hour are not accepted)", 409)
        key = (event.forge, event.digest)
        with self._lock:
            while self._seen and (len(self._seen) >= self.memory or
                                  now - next(iter(self._seen.values())) > self.window_s):
                self._seen.popitem(last=False)
            if key in self._seen:
                raise WebhookRefused(f"{event.forge} delivery {event.delivery or ''} repeats a body already "
                                     "accepted within the hour: replay refused".replace("  ", " "), 409)
            self._seen[key] = now


class RefusalLog:
    """At most `per_minute` refused deliveries reach the audit log; the rest are counted into the next row."""

    def __init__(self, per_minute: int = 6, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._times: list[float] = []
        self.suppressed = 0
        self._lock = threading.Lock()

    def admit(self) -> int | None:
        """None: do not record this one. Else the number suppressed since the last recorded refusal."""
        now = self.clock()
        with self._lock:
            self._times = [t for t in self._times if now - t < 60.0]
            if len(self._times) >= self.per_minute:
                self.suppressed += 1
                return None
            self._times.append(now)
            count, self.suppressed = self.suppressed, 0
            return count


def sign(secret: bytes, body: bytes) -> str:
    """The hex HMAC-SHA256 a forge sends (for tests, benches and `curl` examples)."""
    return _expected(secret, body)
