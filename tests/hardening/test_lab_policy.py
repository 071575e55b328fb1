"""Issue 24 item 8: whatever `validate` accepts in reconcile policy, the daemon can run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.models.lab import SyncWindow
from reconciler.plan.windows import applying_allowed
from tests.foundation.labkit import SIM_ONLY_LAB, commit, homeport, new_mini_lab

BAD_POLICY = {
    "cron-out-of-range": ("windows: [{allow: '99 * * * *'}]", "spec.reconcile.windows.0.allow", "cron expression"),
    "cron-never-fires": ("windows: [{deny: '0 0 30 2 *'}]", "spec.reconcile.windows.0.deny", "ever fires"),
    "cron-garbage": ("windows: [{allow: 'tuesdays'}]", "spec.reconcile.windows.0.allow", "cron expression"),
    "unknown-time-zone": (
        "windows: [{allow: '0 1 * * *', timezone: Mars/Olympus}]",
        "spec.reconcile.windows.0.timezone",
        "not a known time zone",
    ),
    "time-zone-path": (
        "windows: [{allow: '0 1 * * *', timezone: ../../etc/passwd}]",
        "spec.reconcile.windows.0.timezone",
        "not a known time zone",
    ),
    "window-without-cron": ("windows: [{duration: 1h}]", "spec.reconcile.windows.0", "exactly one of allow or deny"),
    "zero-interval": ("interval: 0s", "spec.reconcile.interval", "at least 1s"),
    "endless-duration": ("windows: [{allow: '0 1 * * *', duration: 99999999999d}]", "spec.reconcile.windows.0.duration",
                         "longer than a year"),
}


@pytest.mark.parametrize("case", sorted(BAD_POLICY))
def test_validate_refuses_policy_the_daemon_cannot_run(case: str, tmp_path: Path) -> None:
    policy, field, message = BAD_POLICY[case]
    lab = new_mini_lab(tmp_path)
    text = SIM_ONLY_LAB.replace("reconcile: {", "reconcile: {" + policy.replace("windows: ", "windows: ", 1) + ", ")
    commit(lab, {"homeport.yaml": text}, case)
    code, out = homeport("validate", "--lab", str(lab))
    assert code == 1, out
    assert "homeport.yaml:" in out and field in out and message in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    "window",
    [
        {"allow": "0 1 * * *", "duration": "4h", "timezone": "Europe/Berlin"},
        {"deny": "*/5 * * * *", "duration": "1s"},
        {"allow": "@daily", "timezone": "America/St_Johns"},
        {"allow": "0 0 29 2 *", "duration": "366d"},
        {"deny": "30 2 * * 0", "timezone": "Australia/Lord_Howe"},
    ],
)
def test_every_window_validate_accepts_runs_through_a_year(window: dict[str, str]) -> None:
    """Every window the model accepts is evaluated without error at any moment (DST changes included)."""
    parsed = SyncWindow.model_validate(window)
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(0, 366 * 24, 7):
        allowed, why = applying_allowed([parsed], moment)
        assert isinstance(allowed, bool) and why
        moment += timedelta(hours=7)
