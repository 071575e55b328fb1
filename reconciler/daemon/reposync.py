"""Cheap polling of the lab's forge: ls-remote first, fetch only on change, back off while nothing changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.service.lab import LabMirror


@dataclass
class PollSchedule:
    """When the next ls-remote is due: `base` seconds after a change, doubling while unchanged, up to `cap`."""

    base: float
    cap: float
    delay: float = 0.0
    next_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Whether a poll should happen now."""
        return self.next_at is None or now >= self.next_at

    def record(self, now: datetime, *, changed: bool, failed: bool = False) -> None:
        """After a poll: reset on change, double otherwise (a failure backs off the same way)."""
        if changed:
            self.delay = self.base
        else:
            self.delay = min(self.cap, max(self.base, self.delay * 2 if self.delay else self.base))
        del failed
        self.next_at = now + timedelta(seconds=self.delay)


@dataclass(frozen=True)
class PollResult:
    """One poll: skipped (not due), unchanged, or fetched a new head."""

    polled: bool
    changed: bool
    head: str | None = None


class RepoPoller:
    """A LabMirror polled on a backing-off schedule."""

    def __init__(self, mirror: LabMirror, schedule: PollSchedule) -> None:
        self.mirror = mirror
        self.schedule = schedule

    def poll(self, now: datetime, *, force: bool = False) -> PollResult:
        """ls-remote when due (or forced), fetch when the head moved; GitSourceError when unreachable."""
        if not force and not self.schedule.due(now):
            return PollResult(False, False)
        try:
            result = self.mirror.sync()
        except Exception:
            self.schedule.record(now, changed=False, failed=True)
            raise
        self.schedule.record(now, changed=result.fetched)
        return PollResult(True, result.fetched, result.head)
