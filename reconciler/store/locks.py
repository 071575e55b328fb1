"""One reconcile run per lab at a time, across processes and nodes.

On PostgreSQL the lock is a session-level advisory lock (`pg_try_advisory_lock`) on a stable 64-bit
hash of the lab name, held on a connection of its own for as long as the run lasts, so two daemons on
two nodes sharing one database never run together; if the holder dies, the server drops its session
and with it the lock. On SQLite (one node by nature) it is a file lock under `lock_dir`, released by
the kernel when the holder dies.

The lock never waits: when another holder has it, `lab_lock` raises `LabBusyError` (the caller records
that it skipped). An exception rather than a yielded flag, so a caller cannot forget to check.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from reconciler.store.database import Database, redact_url

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$")


class LabBusyError(Exception):
    """Another run holds this lab's lock; this run should skip and record that it did."""

    def __init__(self, lab: str, where: str) -> None:
        super().__init__(f"another reconcile run of lab '{lab}' is in progress ({where}); skipping this one")
        self.lab = lab


class LockError(Exception):
    """The lock could not be taken or released for a reason other than another holder."""


def advisory_lock_key(lab: str) -> int:
    """The lab's advisory lock key: a signed 64-bit integer from SHA-256, the same on every node."""
    digest = hashlib.sha256(f"homeport:lab-run:{lab}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_file_path(lock_dir: Path, lab: str) -> Path:
    """The file lock path of a lab: readable for plain names, hashed for anything else."""
    stem = lab if _SAFE_NAME.match(lab) else hashlib.sha256(lab.encode()).hexdigest()[:32]
    return lock_dir / f"run-{stem}.lock"


@contextmanager
def lab_lock(db: Database, lab: str, *, lock_dir: Path) -> Iterator[None]:
    """Hold the lab's run lock for the with-block; raise LabBusyError at once if another run holds it.

    `lock_dir` is used on SQLite only (PostgreSQL locks live in the server).
    """
    if db.is_postgres:
        with _advisory_lock(db, lab):
            yield
    else:
        with _file_lock(lock_dir, lab):
            yield


@contextmanager
def _advisory_lock(db: Database, lab: str) -> Iterator[None]:
    key = advisory_lock_key(lab)
    where = f"advisory lock {key} on {redact_url(db.url)}"
    # Autocommit: the connection must not sit idle in a transaction for the whole run.
    conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        acquired = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one()
    except Exception as exc:
        conn.invalidate()
        conn.close()
        raise LockError(f"cannot take the run lock of lab '{lab}' ({where}): {exc}") from exc
    if not acquired:
        conn.close()
        raise LabBusyError(lab, where)
    try:
        yield
    finally:
        try:
            released = conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key}).scalar_one()
        except Exception:
            released = False
        if not released:
            # Never return a connection that may still hold the lock to the pool: closing it for
            # good ends the server session, which releases every lock it held.
            conn.invalidate()
        conn.close()


@contextmanager
def _file_lock(lock_dir: Path, lab: str) -> Iterator[None]:
    import filelock  # only runs take the lock: a plan never imports it

    path = lock_file_path(lock_dir, lab)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LockError(f"cannot create the lock folder {path.parent}: {exc}") from exc
    lock = filelock.FileLock(path)
    try:
        lock.acquire(blocking=False)
    except filelock.Timeout:
        raise LabBusyError(lab, f"file lock {path}") from None
    try:
        yield
    finally:
        lock.release()
