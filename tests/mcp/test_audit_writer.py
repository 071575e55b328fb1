"""The read-audit writer (mcp_server/auditlater.py): rows wait while a call is in flight, are written in call order
once calls stop, never wait past max_wait or beyond max_rows, and flush writes them at once. Real threads; the
checks wait for an outcome (with a generous deadline), they never assert how long anything took."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mcp_server.auditlater import AuditWriter


def wait_until(check: Callable[[], bool], deadline: float = 30.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.01)
    return check()


def recorder() -> tuple[list[int], Callable[[int], Callable[[], None]]]:
    written: list[int] = []
    lock = threading.Lock()

    def row(n: int) -> Callable[[], None]:
        def write() -> None:
            with lock:
                written.append(n)
        return write

    return written, row


def test_rows_wait_while_a_call_is_in_flight_then_come_in_order() -> None:
    writer = AuditWriter(quiet=0.01, max_wait=600)
    written, row = recorder()
    try:
        writer.call_started()
        for n in range(3):
            writer.add(row(n))
        time.sleep(0.3)  # many quiet periods: still nothing, a call is in flight
        assert written == []
        writer.call_started()  # a second, overlapping call
        writer.call_ended()
        time.sleep(0.3)
        assert written == []  # one call is still in flight
        writer.call_ended()
        assert wait_until(lambda: written == [0, 1, 2])
    finally:
        writer.close()


def test_a_busy_server_still_writes_after_max_wait_or_max_rows() -> None:
    waited = AuditWriter(quiet=0.01, max_wait=0.2)
    written, row = recorder()
    try:
        waited.call_started()  # never ends
        waited.add(row(1))
        assert wait_until(lambda: written == [1])
    finally:
        waited.close()
    piled = AuditWriter(quiet=0.01, max_wait=600, max_rows=3)
    written2, row2 = recorder()
    try:
        piled.call_started()
        piled.add(row2(1))
        piled.add(row2(2))
        time.sleep(0.2)
        assert written2 == []
        piled.add(row2(3))
        assert wait_until(lambda: written2 == [1, 2, 3])
    finally:
        piled.close()


def test_flush_and_close_write_at_once_in_order() -> None:
    writer = AuditWriter(quiet=600, max_wait=600)
    written, row = recorder()
    writer.call_started()
    writer.add(row(1))
    writer.add(row(2))
    writer.flush()  # a proposal's row must follow these: they are written before flush returns
    assert written == [1, 2]
    writer.add(row(3))
    writer.close()
    assert written == [1, 2, 3]
    writer.flush()  # nothing queued: returns
