"""The daemon: one worker thread runs cycles (fetch -> reconcile -> metrics -> notify), fed by APScheduler
interval jobs, a backing-off repository poll, and push webhooks. Nothing it meets stops it: an
unreachable forge, an invalid commit, a provider timing out or a database hiccup are recorded and the
next cycle tries again.
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from reconciler.daemon.delivery import DeliveryStatus, Notifier
from reconciler.daemon.http_app import HttpHooks, build_app
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.notifications import DeviationNote, run_message
from reconciler.daemon.reposync import PollSchedule, RepoPoller
from reconciler.daemon.settings import DaemonSettings, webhook_secret
from reconciler.daemon.webhook import PushEvent, RefusalLog
from reconciler.models.lab import duration_seconds
from reconciler.models.plan import Mode
from reconciler.service import LabService, commands, queries
from reconciler.service.errors import GitSourceError
from reconciler.service.lab import database_url_from_env, open_mirror
from reconciler.service.views import RunReport

log = logging.getLogger("homeport.daemon")
STOP = "__stop__"


def utc_now() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _collector_on() -> None:
    """Collect start-up's garbage once, freeze what remains (the collector never rescans it), collector on."""
    gc.collect()
    gc.freeze()
    gc.enable()


class Daemon:
    """One lab's reconciler loop."""

    def __init__(self, settings: DaemonSettings, *, clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] | None = None, env: dict[str, str] | None = None) -> None:
        if (settings.lab_dir is None) == (settings.repo_url is None):
            raise ValueError("give exactly one of --lab DIR (a local lab repository) or --repo URL (a forge)")
        self.settings = settings
        self.clock = clock or utc_now
        self.sleep = sleep or time.sleep
        self.env = env
        self.metrics = DaemonMetrics()
        self.refusals = RefusalLog()
        self.poller: RepoPoller | None = None
        if settings.repo_url:
            mirror = open_mirror(settings.repo_url, settings.mirror_dir, branch=settings.branch, env=env)
            self.poller = RepoPoller(mirror, PollSchedule(base=settings.poll_seconds, cap=300.0))
        self.service: LabService | None = None
        self.notifier: Notifier | None = None
        self.lab: str | None = None
        self.interval = settings.interval_override or 300.0
        self.last_result: RunReport | None = None
        self.last_error: str | None = None
        self.repo_error: str | None = None
        self.cycles = 0
        self._branch_warned = False
        self._queue: queue.Queue[str] = queue.Queue()
        self._cycle_lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None
        self._worker: threading.Thread | None = None
        self._served: Any = None  # the web door on the HTTP port (reconciler.web.serve.ServedLab)

    # -- one cycle -------------------------------------------------------------------------------

    def _lab_dir(self) -> Any:
        return self.settings.lab_dir if self.settings.lab_dir else self.settings.mirror_dir

    def _database_url(self) -> str | None:
        url = self.settings.database_url
        env_url = database_url_from_env(os.environ if self.env is None else self.env)
        if url is None and env_url is None and self.settings.repo_url:
            # mirroring a forge: the default SQLite lives in the state dir, not inside the bare mirror
            self.settings.state_dir.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{(self.settings.state_dir / 'state.db').resolve()}"
        return url or env_url

    def _open_service(self) -> LabService:
        if self.service is None:
            self.service = LabService.open(self._lab_dir(), database_url=self._database_url(), clock=self.clock,
                                           sleep=self.sleep, actor="daemon", actor_kind="system")
            self.notifier = Notifier(self.service, sleep=self.sleep, env=self.env)
        return self.service

    def _sync_repo(self) -> None:
        """Fetch the forge (ls-remote first); on failure keep the last mirrored commit and record why once."""
        if self.poller is None:
            return
        try:
            result = self.poller.poll(self.clock(), force=True)
            self.metrics.polls.labels("changed" if result.changed else "unchanged").inc()
            if self.repo_error is not None and self.service is not None:
                self._audit("repo-reachable", "ok", {"message": "the lab repository is reachable again"})
            self.repo_error = None
        except GitSourceError as exc:
            self.metrics.polls.labels("error").inc()
            if str(exc) != self.repo_error:
                self.repo_error = str(exc)
                log.warning("lab repository unreachable: %s", exc)
                if self.service is not None:
                    self._audit("repo-unreachable", "error", {"error": str(exc)})
            if self.poller.mirror.local_head() is None:
                raise

    def _audit(self, action: str, outcome: str, result: dict[str, Any]) -> None:
        service = self.service
        if service is None:
            return
        lab = self.lab or service.lab_dir.name
        commands.record_audit(service, lab_name=lab, entity_type="lab", entity_id=lab, action=action, actor="daemon",
                              actor_kind="system", tool="daemon", outcome=outcome, result=result)

    def cycle(self, trigger: str = "schedule") -> RunReport | None:
        """Fetch (when mirroring a forge), reconcile under the lab lock, count, notify. Never raises."""
        with self._cycle_lock:
            self.cycles += 1
            try:
                self._sync_repo()  # first, so the first clone exists before the session opens
                service = self._open_service()
                started = self.clock()
                result = commands.apply(service, mode=Mode.auto, trigger=trigger, full=self.settings.full)
                try:
                    self._after_run(service, result, trigger, started)
                finally:
                    self.last_result = result
                self.last_error = None
                return result
            except Exception as exc:  # the daemon outlives every error; the next cycle tries again
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("reconcile cycle failed")
                self.metrics.runs.labels("error", trigger).inc()
                return None

    def _after_run(self, service: LabService, result: RunReport, trigger: str, started: datetime) -> None:
        lab = self._refresh_lab(service)
        deviations = queries.deviations(service) if lab else []
        self.metrics.observe_run(result, trigger, len(deviations), self.clock().timestamp())
        if result.status == "skipped" or lab is None:
            return
        since = _naive_utc(started)
        new = [DeviationNote(d.resource, d.field, d.expected, d.actual) for d in deviations
               if d.first_seen is not None and _naive_utc(d.first_seen) >= since]
        message = run_message(lab, result, new, extra_error=self.repo_error)
        targets = self._targets(service)
        if message is None or not targets or self.notifier is None:
            return
        for delivery in self.notifier.deliver(targets, message):
            self.metrics.notifications.labels(delivery.status).inc()
            if delivery.status is DeliveryStatus.failed:
                log.warning("notification to %s failed: %s", delivery.target, delivery.error)

    def _refresh_lab(self, service: LabService) -> str | None:
        """Lab name and interval from main's homeport.yaml (cached by blob id, so cheap)."""
        try:
            state = service.state()
        except Exception:  # an invalid commit: keep the last known name and interval
            return self.lab
        self.lab = state.lab_name
        if state.lab.spec.main_branch != self.settings.branch and not self._branch_warned:
            self._branch_warned = True
            log.warning("homeport.yaml applies branch %s but the daemon watches %s (--branch): pushes to %s "
                        "will not trigger runs", state.lab.spec.main_branch, self.settings.branch,
                        state.lab.spec.main_branch)
        if self.settings.interval_override is None:
            interval = float(duration_seconds(state.lab.spec.reconcile.interval))
            if interval != self.interval:
                self.interval = interval
                self._reschedule()
        return self.lab

    def _targets(self, service: LabService) -> list[Any]:
        try:
            return list(service.state().lab.spec.notifications)
        except Exception:
            return []

    def snapshot(self) -> str | None:
        """Take a scheduled snapshot; returns its id (None when it failed, which is logged)."""
        with self._cycle_lock:
            try:
                return commands.snapshot(self._open_service(), snapshot_type="scheduled").id
            except Exception:
                log.exception("scheduled snapshot failed")
                return None

    # -- triggers ----------------------------------------------------------------------------------

    def request(self, trigger: str) -> None:
        """Queue a cycle (coalesced with others already waiting)."""
        self._queue.put(trigger)

    def poll(self) -> None:
        """The poll job: ls-remote when the backing-off schedule says so; a new head queues a cycle."""
        if self.poller is None or self.service is None:
            return
        if not self._cycle_lock.acquire(blocking=False):
            return  # a cycle is running, and it fetches anyway
        try:
            result = self.poller.poll(self.clock())
        except GitSourceError as exc:
            self.metrics.polls.labels("error").inc()
            log.debug("poll failed: %s", exc)
            return
        finally:
            self._cycle_lock.release()
        if result.polled:
            self.metrics.polls.labels("changed" if result.changed else "unchanged").inc()
        if result.changed:
            self.request("poll")

    def on_push(self, event: PushEvent) -> str:
        """A verified push: queue a run when it is for the lab's branch."""
        self.metrics.webhooks.labels("accepted").inc()
        if event.event not in ("push", "") or event.ref not in (None, f"refs/heads/{self.settings.branch}"):
            return f"ignored: {event.event or 'event'} for {event.ref or 'no ref'}"
        if self.poller is not None:
            self.poller.schedule.delay = self.poller.schedule.base  # the forge is alive: poll eagerly again
        self.request("webhook")
        return "queued"

    def on_refused(self, reason: str, client: str) -> None:
        """A refused webhook delivery: counted; recorded in the audit log at most a few times a minute."""
        self.metrics.webhooks.labels("refused").inc()
        suppressed = self.refusals.admit()
        if suppressed is None:
            return
        log.warning("webhook from %s refused: %s", client, reason)
        try:
            self._audit("webhook-refused", "refused", {"reason": reason[:500], "client": client,
                                                      "suppressed_before": suppressed})
        except Exception:
            log.exception("cannot record the refused webhook")

    def health(self) -> dict[str, Any]:
        """/healthz: alive, last run, last errors."""
        worker_ok = self._worker is None or self._worker.is_alive()
        last = self.last_result
        try:
            webhook_secret(self.env)
            webhook_error = None
        except ValueError as exc:  # a secret file named but unreadable: say so here, not only per delivery
            webhook_error = str(exc)
        return {"ok": worker_ok and webhook_error is None, "lab": self.lab, "webhook_error": webhook_error,
                "cycles": self.cycles, "interval_seconds": self.interval,
                "last_run": None if last is None else {"id": last.run_id, "status": last.status,
                                                       "revision": last.revision},
                "last_error": self.last_error, "repo_error": self.repo_error}

    # -- running -----------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            trigger = self._queue.get()
            if trigger == STOP:
                return
            pending = {trigger}
            while True:  # coalesce: a burst of pushes and ticks is one cycle
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more == STOP:
                    self._queue.put(STOP)
                    break
                pending.add(more)
            if "snapshot" in pending:
                pending.discard("snapshot")
                self.snapshot()
            if pending:
                order = ("webhook", "signal", "poll", "schedule", "startup")
                self.cycle(next((t for t in order if t in pending), sorted(pending)[0]))

    def _reschedule(self) -> None:
        if self._scheduler is not None and self._scheduler.get_job("reconcile") is not None:
            self._scheduler.reschedule_job("reconcile", trigger="interval", seconds=self.interval,
                                           jitter=max(1, int(self.interval * self.settings.jitter)))

    def start(self, *, first_run: bool = True) -> None:
        """Start the worker and the scheduler (returns at once); first_run=False leaves the start-up cycle
        to the caller (serve_forever asks for it once the HTTP port listens)."""
        self._worker = threading.Thread(target=self._work, name="homeport-worker", daemon=True)
        self._worker.start()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._scheduler.add_job(self.request, "interval", args=["schedule"], id="reconcile", seconds=self.interval,
                                jitter=max(1, int(self.interval * self.settings.jitter)), max_instances=1,
                                coalesce=True)
        if self.poller is not None:
            self._scheduler.add_job(self.poll, "interval", id="poll", seconds=max(1.0, self.settings.poll_seconds),
                                    max_instances=1, coalesce=True)
        if self.settings.snapshot_seconds > 0:
            self._scheduler.add_job(self.request, "interval", args=["snapshot"], id="snapshot",
                                    seconds=self.settings.snapshot_seconds, max_instances=1, coalesce=True)
        self._scheduler.start()
        if first_run:
            self.request("startup")

    def stop(self) -> None:
        """Stop the scheduler and the worker (after its current cycle), close the session."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        self._queue.put(STOP)
        if self._worker is not None:
            self._worker.join(timeout=600)
        if self.notifier is not None:
            self.notifier.close()
        if self._served is not None:
            self._served.close()
            self._served = None
        if self.service is not None:
            self.service.close()
            self.service = None

    def http_app(self) -> Any:
        """/webhook, /healthz and /metrics, plus the lab's web UI (/), REST API (/api/v1) and MCP (/mcp) on the
        same port (reconciler.web). Approving in the UI or API queues a cycle."""
        from reconciler.web.serve import serve_lab
        from reconciler.web.settings import WebSettings

        base = build_app(self.http_hooks())
        try:
            if self.poller is not None and self.poller.mirror.local_head() is None:
                with self._cycle_lock:
                    self._sync_repo()  # the web door opens the mirror, so it must exist first
            self._served = serve_lab(
                Path(self._lab_dir()), settings=WebSettings(allowed_hosts=list(self.settings.allowed_hosts)),
                public_url=f"http://{self.settings.host}:{self.settings.port}", host=self.settings.host,
                database_url=self._database_url(), routes=list(base.routes), trigger_run=self._web_run)
        except Exception as exc:  # the daemon's own endpoint still serves; the web door says why it is missing
            log.warning("web UI, REST API and MCP not served on this port: %s", exc)
            return base
        return self._served.app

    def _web_run(self, actor: str) -> str:
        self.request("web")
        return "queued"

    def http_hooks(self) -> HttpHooks:
        """What the HTTP endpoint calls."""
        return HttpHooks(secret=lambda: webhook_secret(self.env), on_push=self.on_push, on_refused=self.on_refused,
                         health=self.health, metrics=self.metrics.render)

    def serve_forever(self) -> None:
        """Run until SIGTERM/SIGINT: scheduler + worker, and the HTTP endpoint when a port is set.

        SIGHUP (`systemctl reload homeport`) asks for a run now.
        """
        import signal as signals

        signals.signal(signals.SIGHUP, lambda *_: self.request("signal"))
        try:
            webhook_secret(self.env)
        except ValueError as exc:  # reported at start-up and by /healthz, not first by a failing delivery
            log.error("webhooks are off: %s", exc)
        # Start-up makes hundreds of thousands of objects that live as long as the process (modules, the web
        # door's and MCP's pydantic schemas); the cyclic collector would rescan them over and over (~15% of
        # start-up CPU). It stays off until the port listens, then they are frozen out of its sight.
        gc.disable()
        # Built before the worker starts: opening the lab migrates its database, one opener at a time.
        app = self.http_app() if self.settings.port else None
        if app is None:
            _collector_on()
        # With a port, the start-up cycle begins once the port listens: the first reconcile (rendering,
        # planning, provider SDK imports) would otherwise hold the interpreter while the server starts.
        self.start(first_run=app is None)
        try:
            if app is not None:
                import signal

                import uvicorn

                daemon = self

                class Server(uvicorn.Server):
                    async def startup(self, sockets: Any = None) -> None:
                        await super().startup(sockets)
                        _collector_on()
                        if self.started:
                            daemon.request("startup")

                # uvicorn re-raises the signal that stopped it once it has shut down; with these handlers in
                # place that re-raise is harmless and the worker still finishes its run (below) before exit.
                signal.signal(signal.SIGTERM, lambda *_: None)
                signal.signal(signal.SIGINT, lambda *_: None)
                config = uvicorn.Config(app, host=self.settings.host, port=self.settings.port,
                                        log_level="warning", access_log=False)
                Server(config).run()
            else:
                import signal

                stop = threading.Event()
                signal.signal(signal.SIGTERM, lambda *_: stop.set())
                signal.signal(signal.SIGINT, lambda *_: stop.set())
                stop.wait()
        finally:
            self.stop()
