"""Audit rows of reads, written by a thread of their own while the server is idle.

A read's answer must not wait for its audit row, nor share the interpreter with it while this or the next answer
is being computed, serialised and sent: writing a row (a hash-chained SQLite or PostgreSQL insert) holds the
interpreter for about a millisecond, and written during an agent's burst of calls it lengthened each of them by
more (bench/proxmox_mcp_read.py: discover-proxmox-resources warm p50 11.5 ms with rows written 20 ms after each
call, 7-8 ms with them written once the burst ends). So the writer waits until no call has been in flight for
QUIET seconds, then writes every row waiting, in call order; a row never waits more than MAX_WAIT seconds however
busy the server is, nor more than MAX_ROWS rows pile up. flush() (before a row that must be written now, at the
end of a connection, and at close) cuts the wait short.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

QUIET = 0.02  # seconds without a call in flight before rows are written
MAX_WAIT = 2.0  # the longest a row waits while calls keep coming
MAX_ROWS = 1000  # rows waiting that are written at once, however busy


class AuditWriter:
    """Queued audit writes, in order, on one thread started on first use, while no call is in flight."""

    def __init__(self, quiet: float = QUIET, max_wait: float = MAX_WAIT, max_rows: int = MAX_ROWS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet = quiet
        self.max_wait = max_wait
        self.max_rows = max_rows
        self._clock = clock
        self._rows: list[Callable[[], None]] = []
        self._cond = threading.Condition()
        self._busy = False
        self._hurry = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._last_activity = 0.0
        self._first_queued = 0.0

    def call_started(self) -> None:
        """A tool call began: rows wait until it (and any other) has ended and the server was quiet a moment."""
        with self._cond:
            self._in_flight += 1
            self._last_activity = self._clock()

    def call_ended(self) -> None:
        """A tool call has its answer (the SDK sends it next, inside the quiet time)."""
        with self._cond:
            self._in_flight = max(self._in_flight - 1, 0)
            self._last_activity = self._clock()
            self._cond.notify_all()

    def add(self, write: Callable[[], None]) -> None:
        """Queue one row's write."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the audit writer is closed")
            if not self._rows:
                self._first_queued = self._clock()
            self._rows.append(write)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="homeport-audit", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _wait_left(self) -> float | None:
        """Seconds to wait before writing the rows now queued; None: write them now (called under the lock)."""
        if self._hurry or self._closed or len(self._rows) >= self.max_rows:
            return None
        now = self._clock()
        left = self.max_wait - (now - self._first_queued)
        if left <= 0:
            return None
        if self._in_flight == 0:
            quiet_left = self.quiet - (now - self._last_activity)
            if quiet_left <= 0:
                return None
            return min(quiet_left, left)
        return left

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._rows) or self._closed)
                if not self._rows:
                    return
                self._busy = True
                while (left := self._wait_left()) is not None:
                    self._cond.wait(timeout=left)
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
        """Wait until every queued row is written (at once: no quiet time)."""
        with self._cond:
            if self._thread is None:
                return
            self._hurry = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._rows and not self._busy)
            self._hurry = False

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)
