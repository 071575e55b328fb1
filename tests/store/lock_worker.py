"""A separate process that takes labs' run locks on command, driven by tests/store/test_locks.py.

    lock_worker.py URL LOCK_DIR

Reads one command a line on stdin and answers one line on stdout:
    try LAB                take and drop the lock at once: "acquired" or "busy"
    hold LAB               take the lock and keep it: "held" or "busy"
    release LAB            drop a held lock: "released"
    hammer LAB MARKER GO   wait for the file GO, then take the lock over and over; while holding, create
                           MARKER exclusively (if it is there, another process holds the lock too:
                           "overlap"); 300 tries, then "held=H busy=B"
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from reconciler.store.database import Database, open_database
from reconciler.store.locks import LabBusyError, lab_lock


def hammer(db: Database, lab: str, lock_dir: Path, marker: Path, go: Path) -> str:
    """Contend for the lock, checking that nobody else holds it while we do."""
    while not go.exists():
        time.sleep(0.005)
    held = busy = 0
    for _ in range(300):
        try:
            with lab_lock(db, lab, lock_dir=lock_dir):
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    return "overlap"
                held += 1
                time.sleep(0.002)
                marker.unlink()
        except LabBusyError:
            busy += 1
            time.sleep(0.001)
    return f"held={held} busy={busy}"


def main(argv: list[str]) -> int:
    """Serve commands until stdin closes."""
    url, lock_dir = argv[0], Path(argv[1])
    db = open_database(url, migrate=False)
    holds: dict[str, ExitStack] = {}
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            command, lab, *rest = line.split()
            if command == "try":
                try:
                    with lab_lock(db, lab, lock_dir=lock_dir):
                        answer = "acquired"
                except LabBusyError:
                    answer = "busy"
            elif command == "hold":
                stack = ExitStack()
                try:
                    stack.enter_context(lab_lock(db, lab, lock_dir=lock_dir))
                    holds[lab] = stack
                    answer = "held"
                except LabBusyError:
                    answer = "busy"
            elif command == "release":
                holds.pop(lab).close()
                answer = "released"
            elif command == "hammer":
                answer = hammer(db, lab, lock_dir, Path(rest[0]), Path(rest[1]))
            else:
                answer = f"unknown command {command}"
            print(answer, flush=True)
    finally:
        for stack in holds.values():
            stack.close()
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
