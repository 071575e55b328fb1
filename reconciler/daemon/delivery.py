"""Sending a run's message to each notification target: JSON, ntfy or Gotify, retried, de-duplicated.

A target's URL and token come from homeport.yaml (`url`) or the environment (`url_env`, `token_env`);
they never reach logs or the audit log (targets are named there by position and host only).
De-duplication is durable: a `notify-sent` audit row keyed by target and message key.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import httpx

from reconciler.daemon.notifications import RunMessage
from reconciler.models.lab import NotificationTarget
from reconciler.service import LabService, commands, queries


class DeliveryStatus(StrEnum):
    """What happened to one message at one target."""

    sent = "sent"
    duplicate = "duplicate"  # sent before (the audit log remembers), so not again
    failed = "failed"
    skipped = "skipped"  # the target has no URL


@dataclass(frozen=True)
class Delivery:
    """What happened to one message at one target."""

    target: str
    status: DeliveryStatus
    attempts: int = 0
    error: str | None = None


def _target_label(index: int, url: str) -> str:
    return f"#{index} {urlsplit(url).hostname or '?'}"


def _resolve(target: NotificationTarget, env: dict[str, str]) -> tuple[str | None, str | None]:
    url = target.url or (env.get(target.url_env) if target.url_env else None)
    token = env.get(target.token_env) if target.token_env else None
    return url, token


def build_request(target: NotificationTarget, url: str, token: str | None,
                  message: RunMessage) -> tuple[str, dict[str, str], bytes | None, dict[str, object] | None]:
    """(url, headers, body bytes, json body) for the target's format."""
    failure = "failure" in message.events
    if target.format == "ntfy":
        headers = {"Title": message.title, "Priority": "high" if failure else "default",
                   "Tags": "rotating_light" if failure else ("warning" if "deviation" in message.events
                                                             else "white_check_mark")}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return url, headers, message.body.encode(), None
    if target.format == "gotify":
        headers = {"X-Gotify-Key": token} if token else {}
        return url, headers, None, {"title": message.title, "message": message.body,
                                    "priority": 8 if failure else 4, "extras": {"homeport": message.as_json()}}
    return url, {}, None, message.as_json()


class Notifier:
    """Delivers run messages to the lab's targets with retries and durable de-duplication."""

    def __init__(self, lab: LabService, *, sleep: Callable[[float], None] = time.sleep, attempts: int = 3,
                 timeout: float = 10.0, env: dict[str, str] | None = None, actor: str = "daemon") -> None:
        self.lab = lab
        self.sleep = sleep
        self.attempts = attempts
        self.env = dict(os.environ) if env is None else env
        self.actor = actor
        self.client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def _dedup_id(self, url: str, message: RunMessage) -> str:
        target = hashlib.sha256(url.encode()).hexdigest()[:16]
        return f"{target}:{message.dedup_key}"

    def _already_sent(self, lab: str, dedup_id: str) -> bool:
        return queries.audit_recorded(self.lab, lab_name=lab, action="notify-sent", entity=dedup_id)

    def deliver(self, targets: list[NotificationTarget], message: RunMessage) -> list[Delivery]:
        """Send message to every target that wants one of its events."""
        out = []
        for index, target in enumerate(targets):
            url, token = _resolve(target, self.env)
            if not set(message.events) & set(target.events):
                continue
            if not url:
                out.append(Delivery(f"#{index}", DeliveryStatus.skipped,
                                    error=f"notification target #{index} has no URL: "
                                    f"set url, or the environment variable {target.url_env}"))
                continue
            label = _target_label(index, url)
            dedup_id = self._dedup_id(url, message)
            if self._already_sent(message.lab, dedup_id):
                out.append(Delivery(label, DeliveryStatus.duplicate))
                continue
            out.append(self._send(target, url, token, message, label, dedup_id))
        return out

    def _send(self, target: NotificationTarget, url: str, token: str | None, message: RunMessage, label: str,
              dedup_id: str) -> Delivery:
        req_url, headers, content, body = build_request(target, url, token, message)
        error = None
        attempt = 0
        while attempt < self.attempts:
            attempt += 1
            try:
                resp = self.client.post(req_url, headers=headers, content=content, json=body)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {str(exc).replace(url, label)[:200]}"
            else:
                if resp.status_code < 300:
                    error = None
                    break
                error = f"HTTP {resp.status_code}"
                if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
                    break  # the target refuses this request; repeating it will not help
            if attempt < self.attempts:
                self.sleep(min(30.0, 2.0 ** (attempt - 1)))
        status = DeliveryStatus.failed if error else DeliveryStatus.sent
        sent = status is DeliveryStatus.sent
        commands.record_audit(self.lab, lab_name=message.lab, entity_type="notification",
                              entity_id=dedup_id if sent else label, action="notify-sent" if sent else "notify-failed",
                              actor=self.actor, actor_kind="system", tool="daemon", run_id=message.run_id,
                              outcome="ok" if sent else "error",
                              arguments={"target": label, "format": target.format, "events": message.events},
                              result={"attempts": attempt, "error": error, "title": message.title})
        return Delivery(label, status, attempt, error)
