"""Prometheus metrics of one daemon, in a registry of its own (so tests and benches can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

from reconciler.service.views import RunReport


class DaemonMetrics:
    """Runs, phase durations, changes applied, deviations open, last applied revision, errors by provider."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter("homeport_runs", "Reconcile runs by outcome", ["status", "trigger"], registry=r)
        self.phase_seconds = Histogram("homeport_phase_seconds", "Duration of each reconcile phase", ["phase"],
                                       registry=r, buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120))
        self.changes_applied = Counter("homeport_changes_applied", "Changes applied by op", ["op"], registry=r)
        self.deviations_open = Gauge("homeport_deviations_open", "Open state deviations (fields)", registry=r)
        self.last_applied = Info("homeport_last_applied_revision", "Revision of the last run that applied",
                                 registry=r)
        self.last_run_timestamp = Gauge("homeport_last_run_timestamp_seconds", "When the last run finished",
                                        registry=r)
        self.provider_errors = Counter("homeport_provider_errors", "Failed changes by provider and kind",
                                       ["provider", "kind"], registry=r)
        self.polls = Counter("homeport_repo_polls", "Remote head checks by result", ["result"], registry=r)
        self.webhooks = Counter("homeport_webhooks", "Webhook deliveries by result", ["result"], registry=r)
        self.notifications = Counter("homeport_notifications", "Notification deliveries by result", ["result"],
                                     registry=r)

    def observe_run(self, result: RunReport, trigger: str, deviations_open: int, now_ts: float) -> None:
        """Count one finished run."""
        self.runs.labels(result.status, trigger).inc()
        for phase, seconds in result.timings.items():
            self.phase_seconds.labels(phase).observe(seconds)
        for outcome in result.outcomes:
            if outcome.status == "applied":
                self.changes_applied.labels(outcome.op).inc()
            elif outcome.status == "failed":
                self.provider_errors.labels(outcome.provider, outcome.error_kind or "unknown").inc()
        if result.revision and any(o.status == "applied" for o in result.outcomes):
            self.last_applied.info({"revision": result.revision})
        self.deviations_open.set(deviations_open)
        self.last_run_timestamp.set(now_ts)

    def render(self) -> bytes:
        """The text exposition format."""
        return bytes(generate_latest(self.registry))
