"""Anomalies found from records and the live inventory: drift, failures, full nodes, unreachable providers.

Thresholds are settings of the check (by sensitivity), not published facts; each finding states the
threshold it crossed and the numbers it saw.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from reconciler.models.desired import DesiredState
from reconciler.service import Observation
from reconciler.service.views import DeviationView, InstanceView, RunView

# Share of a node's memory or CPU in use above which it is reported, by sensitivity.
USAGE_THRESHOLDS = {"low": 0.95, "medium": 0.90, "high": 0.80}


class Anomaly(BaseModel):
    """One finding."""

    kind: str
    subject: str
    severity: str = Field(description="low | medium | high")
    detail: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    investigate: str
    auto_correctable: bool = False


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.now().astimezone().tzinfo)


def find_anomalies(state: DesiredState, observation: Observation, *, deviations: list[DeviationView],
                   instances: list[InstanceView], runs: list[RunView], now: datetime, window_hours: float,
                   sensitivity: str) -> list[Anomaly]:
    """Every anomaly, most severe first (runs: newest first). Pure: the records are passed in."""
    found: list[Anomaly] = []
    lab = state.lab_name
    for dev in deviations:
        found.append(Anomaly(kind="drift", subject=dev.resource, severity=dev.severity,
                             detail=f"{dev.field}: declared {dev.expected!r}, live {dev.actual!r}",
                             evidence={"first_seen": str(dev.first_seen), "last_seen": str(dev.last_seen)},
                             investigate="compare-expected-vs-actual-state for this resource; then either propose "
                                         "the live value into Git or let self-heal restore the declared one",
                             auto_correctable=bool(dev.auto_correctable)))
    for inst in instances:
        if inst.status in ("failed", "error"):
            found.append(Anomaly(kind="failed-instance", subject=inst.name, severity="high",
                                 detail=f"status {inst.status}: {inst.error or 'no message'}",
                                 investigate="get-deployment-status with include_logs=true"))
    since = now - timedelta(hours=window_hours)
    recent = [r for r in runs if r.started_at is not None and _aware(r.started_at) >= since]
    bad = [r for r in recent if r.status in ("failed", "partial", "invalid")]
    if bad:
        found.append(Anomaly(kind="failing-runs", subject=lab, severity="high" if len(bad) > 1 else "medium",
                             detail=f"{len(bad)} of {len(recent)} reconcile runs in the last {window_hours:g} h did "
                                    f"not succeed; last error: {(bad[0].error or '')[:300]}",
                             evidence={"runs": [r.id for r in bad[:10]]},
                             investigate="`homeport history` and the run's error"))
    limit = USAGE_THRESHOLDS[sensitivity]
    for name, reason in sorted(observation.unavailable.items()):
        if state.lab.spec.providers[name].enabled:
            found.append(Anomaly(kind="provider-unreachable", subject=name, severity="high", detail=reason,
                                 investigate="check the endpoint and credentials named in homeport.yaml"))
    for inv in observation.inventories.values():
        for node in inv.nodes:
            if node.status not in ("online", "running", "ready"):
                found.append(Anomaly(kind="node-down", subject=node.name, severity="high",
                                     detail=f"node status {node.status}", investigate="check the node"))
                continue
            for label, used, total in (("memory", node.memory_used_gb, node.memory_gb), ("cpu", node.cpu_used,
                                                                                        node.cpu)):
                if total and used / total >= limit:
                    found.append(Anomaly(kind=f"{label}-pressure", subject=node.name,
                                         severity="high" if used >= total else "medium",
                                         detail=f"{label} {used:g} of {total:g} in use ({used / total:.0%}), "
                                                f"threshold {limit:.0%} at sensitivity {sensitivity}",
                                         evidence={"used": used, "total": total, "threshold": limit},
                                         investigate="find-optimal-placement for new work; right-size guests"))
        unmanaged = inv.unmanaged(lab)
        if unmanaged and sensitivity == "high":
            found.append(Anomaly(kind="unmanaged-resources", subject=inv.provider, severity="low",
                                 detail=f"{len(unmanaged)} resource(s) not managed by this lab: "
                                        + ", ".join(r.name for r in unmanaged[:10]),
                                 investigate="adopt them with a proposal, or leave them (they are never touched)"))
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(found, key=lambda a: (order.get(a.severity, 3), a.kind, a.subject))
