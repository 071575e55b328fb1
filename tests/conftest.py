"""Suite-wide fixtures and checks.

The real PostgreSQL 15 backend (`pg_server`, `pg_url`), fakepve (`pve`) and the sshd test hosts
(`ssh_hosts`) are available to every test. A session in which
tests were collected but none passed or failed (all skipped) exits 5, like one that collected nothing,
so scripts/run-tests.sh and CI treat it as "no test ran".
"""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.backends.postgres", "tests.backends.pve", "tests.backends.ssh"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Turn an all-skipped run into exit code 5 (no tests ran)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != pytest.ExitCode.OK:
        return
    ran = sum(len(reporter.stats.get(key, [])) for key in ("passed", "failed", "error", "xpassed", "xfailed"))
    if ran == 0:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
