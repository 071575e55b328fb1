"""Audit rows of reads, written by a thread of their own a moment after the answer went out.

A read's answer must not wait for its audit row, nor share the interpreter with it while the answer is being
serialised and sent: the writer waits DELAY seconds after a row arrives, then writes every row waiting, in
call order. flush() (before a row that must be written now, and at close) cuts the wait short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

DELAY = 0.02


class AuditWriter:
    """Queued audit writes, in order, on one thread started on first use."""

    def __init__(self, delay: float = DELAY) -> None:
        self.delay = delay
        self._rows: list[Callable[[], None]] = []
        self._cond = threading.Condition()
        self._busy = False
        self._hurry = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, write: Callable[[], None]) -> None:
        """Queue one row's write."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the audit writer is closed")
            self._rows.append(write)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="homeport-audit", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._rows) or self._closed)
                if not self._rows:
                    return
                self._busy = True
                self._cond.wait_for(lambda: self._hurry or self._closed, timeout=self.delay)
                batch, self._rows = self._rows, []
            for write in batch:
                try:
                    write()
                except Exception:  # the call has been answered; say why its row is missing
                    log.exception("homeport-mcp: could not write an audit row")
            with self._cond:
                self._busy = False
                if not self._rows:
                    self._hurry = False
                self._cond.notify_all()

    def flush(self) -> None:
        """Wait until every queued row is written (at once: no delay)."""
        with self._cond:
            if self._thread is None:
                return
            self._hurry = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._rows and not self._busy)

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)
