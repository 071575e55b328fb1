"""Sync windows: cron-like allow and deny windows with a time zone (pure; the clock is passed in)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from reconciler.models.lab import SyncWindow, duration_seconds


def window_active(window: SyncWindow, now: datetime) -> bool:
    """Whether now falls inside a window that opens at the cron times and lasts `duration`."""
    expr = window.allow or window.deny
    if not expr:
        return False
    local = now.astimezone(ZoneInfo(window.timezone))
    # The latest opening at or before now; croniter's get_prev is strict, so step one second ahead.
    last_open = croniter(expr, local + timedelta(seconds=1)).get_prev(datetime)
    return bool(local < last_open + timedelta(seconds=duration_seconds(window.duration)))


def applying_allowed(windows: list[SyncWindow], now: datetime) -> tuple[bool, str]:
    """Deny windows win; with allow windows declared, one must be open. Returns (allowed, why)."""
    for w in windows:
        if w.deny and window_active(w, now):
            return False, f"inside deny window '{w.deny}' ({w.duration}, {w.timezone})"
    allows = [w for w in windows if w.allow]
    if not allows:
        return True, "no allow windows declared"
    for w in allows:
        if window_active(w, now):
            return True, f"inside allow window '{w.allow}'"
    return False, "outside every allow window (" + ", ".join(
        f"'{w.allow}' {w.duration} {w.timezone}" for w in allows
    ) + ")"
