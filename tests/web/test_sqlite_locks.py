"""Opening a lab's SQLite database again in a process that already has it open must keep that process's locks.
The web door opens it beside the MCP server, the daemon's worker, and the runs started from a browser.

Closing any descriptor of an open SQLite file drops every POSIX lock the process holds on it (fcntl
semantics). Without its shared lock on the database file, another process closing its last connection takes
the file for itself, checkpoints and deletes the write-ahead log this process is still writing to: the next
read here is "disk I/O error" or "database disk image is malformed"."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from reconciler.service import LabService
from tests.backends.homeport_lab import make_lab

READ_AND_CLOSE = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                  "c.execute('select count(*) from web_lock_probe').fetchall(); c.close()")


def test_a_second_open_in_the_process_keeps_the_wal_of_the_first(tmp_path: Path) -> None:
    lab = make_lab(tmp_path / "lab", apply=False)
    db = lab / ".homeport" / "state.db"
    with LabService.open(lab, actor="first"):
        holder = sqlite3.connect(db)
        holder.execute("CREATE TABLE web_lock_probe (x INTEGER)")
        holder.commit()
        with LabService.open(lab, actor="second"):  # opens (and migrates) the same file again
            subprocess.run([sys.executable, "-c", READ_AND_CLOSE, str(db)], check=True, timeout=60)
            assert db.with_name("state.db-wal").exists(), "another process deleted the WAL this one still uses"
            for i in range(200):
                holder.execute("INSERT INTO web_lock_probe VALUES (?)", (i,))
                holder.commit()
            subprocess.run([sys.executable, "-c", READ_AND_CLOSE, str(db)], check=True, timeout=60)
        holder.close()
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert check.execute("SELECT count(*) FROM web_lock_probe").fetchone() == (200,)
    check.close()
