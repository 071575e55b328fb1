"""Notifications: one message per run (never per resource) for failures, new deviations and applied changes.

The message is built here (pure); `delivery` sends it in the generic JSON, ntfy or Gotify format.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from reconciler.service.views import RunReport

FAILURE_STATUSES = ("failed", "partial", "invalid", "unreachable")


@dataclass(frozen=True)
class DeviationNote:
    """A field that started drifting in this run."""

    resource: str
    field: str
    expected: Any
    actual: Any


@dataclass(frozen=True)
class RunMessage:
    """What a run tells people: its events, a title, a body, and a key for de-duplication."""

    lab: str
    run_id: str | None
    status: str
    revision: str | None
    events: list[str]
    title: str
    body: str
    applied: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    deviations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def dedup_key(self) -> str:
        """Same events with the same content -> same key (a failure repeating every interval is sent once)."""
        payload = json.dumps([self.lab, self.events, self.revision if "applied" in self.events else None,
                              self.applied, self.failed, self.deviations, self.status if self.failed else None],
                             sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:40]

    def as_json(self) -> dict[str, Any]:
        """The generic JSON payload."""
        return {"lab": self.lab, "run_id": self.run_id, "status": self.status, "revision": self.revision,
                "events": self.events, "title": self.title, "message": self.body, "applied": self.applied,
                "failed": self.failed, "deviations": self.deviations}


def run_message(lab: str, result: RunReport, new_deviations: list[DeviationNote],
                extra_error: str | None = None) -> RunMessage | None:
    """The one message for a run, or None when nothing worth telling happened."""
    applied = [{"resource": o.resource, "op": o.op, "message": o.message}
               for o in result.outcomes if o.status == "applied"]
    failed = [{"resource": o.resource, "op": o.op, "error": o.message}
              for o in result.outcomes if o.status == "failed"]
    if not failed and result.status in FAILURE_STATUSES and (result.error or extra_error):
        failed = [{"resource": "(run)", "op": "run", "error": (extra_error or result.error or "")[:500]}]
    elif extra_error:
        failed.append({"resource": "(repository)", "op": "fetch", "error": extra_error[:500]})
    deviations = [{"resource": d.resource, "field": d.field, "expected": d.expected, "actual": d.actual}
                  for d in new_deviations]
    events = [e for e, on in (("failure", bool(failed)), ("deviation", bool(deviations)),
                              ("applied", bool(applied))) if on]
    if not events:
        return None
    rev = (result.revision or "")[:12]
    parts = []
    if failed:
        parts.append(f"{len(failed)} failed")
    if deviations:
        parts.append(f"{len({d['resource'] for d in deviations})} drifted")
    if applied:
        parts.append(f"{len(applied)} applied")
    title = f"homeport {lab}: " + ", ".join(parts) + (f" at {rev}" if rev else "")
    lines = [f"failed: {f['resource']} ({f['op']}): {f['error']}" for f in failed]
    lines += [f"drift: {d['resource']} {d['field']}: declared {d['expected']!r}, live {d['actual']!r}"
              for d in deviations]
    lines += [f"applied: {a['resource']} ({a['op']}): {a['message']}" for a in applied]
    if len(lines) > 40:
        lines = [*lines[:40], f"... and {len(lines) - 40} more"]
    return RunMessage(lab=lab, run_id=result.run_id, status=result.status, revision=result.revision, events=events,
                      title=title, body="\n".join(lines), applied=applied, failed=failed, deviations=deviations)
