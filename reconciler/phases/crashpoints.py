"""A test seam for crash-safety tests: kill this process with SIGKILL at a named apply boundary.

Set `HOMEPORT_CRASH_AT=<boundary>:<n>` (boundaries: intent-written, provider-applied, intent-finished)
and the n-th time this process reaches that boundary it sends itself SIGKILL, exactly as `kill -9`
would. Unset (always, outside tests) it does nothing but one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "HOMEPORT_CRASH_AT"
BOUNDARIES = ("intent-written", "provider-applied", "intent-finished")
_hits: dict[str, int] = {}


def crash_point(boundary: str) -> None:
    """Die here with SIGKILL if HOMEPORT_CRASH_AT names this boundary and its count is reached."""
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    name, _, count = spec.partition(":")
    if name != boundary:
        return
    _hits[boundary] = _hits.get(boundary, 0) + 1
    if _hits[boundary] == int(count or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
