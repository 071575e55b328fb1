"""The lab run lock across real processes, on SQLite (file lock) and PostgreSQL (advisory lock)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.store.database import Database, open_database
from reconciler.store.locks import LabBusyError, advisory_lock_key, lab_lock, lock_file_path

WORKER = Path(__file__).with_name("lock_worker.py")
WAIT_LIMIT_S = 60.0  # generous bound for a loaded CI machine; never an assertion about speed


class Worker:
    """lock_worker.py in its own process, answering one line per command."""

    def __init__(self, url: str, lock_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), url, str(lock_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def wait_ready(self) -> None:
        """Wait until the worker has imported everything and opened the database."""
        self._read_line("ready")

    def _read_line(self, expect: str | None = None) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line:
            self.proc.kill()
            raise AssertionError(f"worker died ({self.proc.wait()}): {self.proc.communicate()[1]}")
        if expect is not None:
            assert line == expect
        return line

    def send(self, command: str) -> None:
        """Send a command without waiting for its answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def ask(self, command: str) -> str:
        """Send a command and return its one-line answer."""
        self.send(command)
        return self._read_line()

    def close(self) -> None:
        """Close stdin (the worker drops its locks and exits) and check it exited cleanly."""
        if self.proc.poll() is None:
            _, err = self.proc.communicate(timeout=WAIT_LIMIT_S)
            assert self.proc.returncode == 0, err

    def kill(self) -> None:
        """SIGKILL: no chance to release anything."""
        self.proc.kill()
        self.proc.communicate(timeout=WAIT_LIMIT_S)


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    """The parametrised backend (SQLite and PostgreSQL), opened in this process."""
    database = open_database(store_url, migrate=False)
    yield database
    database.dispose()


@pytest.fixture
def workers(store_url: str, tmp_path: Path) -> Iterator[list[Worker]]:
    """Two worker processes on the same database and lock folder, started together."""
    started = [Worker(store_url, tmp_path / "locks") for _ in range(2)]
    try:
        for worker in started:
            worker.wait_ready()
        yield started
        for worker in started:
            worker.close()
    finally:
        for worker in started:
            if worker.proc.poll() is None:
                worker.kill()


def test_second_process_is_refused_while_first_holds(
    db: Database, workers: list[Worker], tmp_path: Path
) -> None:
    first, second = workers
    lock_dir = tmp_path / "locks"
    assert first.ask("hold home") == "held"
    assert second.ask("try home") == "busy"
    assert second.ask("hold home") == "busy"
    with pytest.raises(LabBusyError, match="another reconcile run of lab 'home' is in progress"), \
            lab_lock(db, "home", lock_dir=lock_dir):
        pass
    assert second.ask("try other-lab") == "acquired"  # one lock per lab
    assert first.ask("release home") == "released"
    assert second.ask("hold home") == "held"
    assert first.ask("try home") == "busy"
    assert second.ask("release home") == "released"
    with lab_lock(db, "home", lock_dir=lock_dir):
        assert first.ask("try home") == "busy"
    assert first.ask("try home") == "acquired"


def test_lock_is_freed_when_holder_is_killed(workers: list[Worker]) -> None:
    holder, other = workers
    assert holder.ask("hold home") == "held"
    assert other.ask("try home") == "busy"
    holder.kill()
    deadline = time.monotonic() + WAIT_LIMIT_S
    while other.ask("try home") != "acquired":  # PostgreSQL ends the dead session within moments
        assert time.monotonic() < deadline, "lock still held long after its holder was killed"
        time.sleep(0.05)


def test_two_processes_never_hold_it_together(workers: list[Worker], tmp_path: Path) -> None:
    marker, go = tmp_path / "holder", tmp_path / "go"
    for worker in workers:
        worker.send(f"hammer home {marker} {go}")
    go.touch()
    answers = [worker._read_line() for worker in workers]
    assert "overlap" not in answers
    counts = [dict(part.split("=") for part in answer.split()) for answer in answers]
    assert sum(int(c["held"]) for c in counts) >= 1
    assert sum(int(c["busy"]) for c in counts) >= 1  # they really contended
    assert not marker.exists()


def test_lock_released_after_an_error_in_the_run(db: Database, tmp_path: Path) -> None:
    lock_dir = tmp_path / "locks"
    with pytest.raises(RuntimeError, match="boom"), lab_lock(db, "home", lock_dir=lock_dir):
        raise RuntimeError("boom")
    with lab_lock(db, "home", lock_dir=lock_dir), pytest.raises(LabBusyError), \
            lab_lock(db, "home", lock_dir=lock_dir):
        pass


def test_advisory_key_is_stable_and_64_bit() -> None:
    key = advisory_lock_key("home")
    assert key == advisory_lock_key("home") != advisory_lock_key("home2")
    assert -(2**63) <= key < 2**63
    # Pinned: a change would let an old and a new daemon run the same lab together.
    assert key == int.from_bytes(hashlib.sha256(b"homeport:lab-run:home").digest()[:8], "big", signed=True)


def test_lock_file_names(tmp_path: Path) -> None:
    assert lock_file_path(tmp_path, "home") == tmp_path / "run-home.lock"
    odd = lock_file_path(tmp_path, "../../etc/x")
    assert odd.parent == tmp_path
    assert "/" not in odd.name and ".." not in odd.name
