"""Runs started from the web door when no daemon is running (`homeport serve`): one at a time, in a thread,
on its own lab session so pages stay responsive while it applies."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from reconciler.service import LabService, Mode, commands

log = logging.getLogger("homeport.web")


class BackgroundRunner:
    """Reconciles main under the lab's policy (as the daemon would) when asked; never two at once."""

    def __init__(self, lab_dir: Path, *, database_url: str | None = None) -> None:
        self.lab_dir = lab_dir
        self.database_url = database_url
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def trigger(self, actor: str) -> str:
        """Start a run now: 'started', or 'running' when one is under way."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return "running"
            self._thread = threading.Thread(target=self._run, args=(actor,), name="homeport-web-run", daemon=True)
            self._thread.start()
            return "started"

    def _run(self, actor: str) -> None:
        try:
            with LabService.open(self.lab_dir, database_url=self.database_url, actor=actor,
                                 actor_kind="human") as lab:
                report = commands.apply(lab, mode=Mode.auto, trigger="web")
                log.info("web-triggered run %s: %s", report.run_id, report.status)
        except Exception:  # a failed run is recorded by the service; this thread must not die silently
            log.exception("web-triggered run failed")

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a run under way to finish (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
