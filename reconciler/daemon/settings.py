"""How a daemon is started: where the lab comes from, the HTTP port, poll cadence, secrets' locations."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WEBHOOK_SECRET_ENV = "HOMEPORT_WEBHOOK_SECRET"
WEBHOOK_SECRET_FILE_ENV = "HOMEPORT_WEBHOOK_SECRET_FILE"


@dataclass(frozen=True)
class DaemonSettings:
    """Everything `homeport daemon` takes on its command line."""

    lab_dir: Path | None = None  # a local lab repository (used as is, never fetched)
    repo_url: str | None = None  # a forge URL: mirrored under state_dir and fetched when it changes
    state_dir: Path = Path("/var/lib/homeport")
    branch: str = "main"
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 9469  # 0: no HTTP endpoint (no webhook, health or metrics)
    poll_seconds: float = 30.0  # first ls-remote cadence; doubles while nothing changes, up to the interval
    jitter: float = 0.1  # share of the interval added at random to each scheduled run
    snapshot_seconds: float = 0.0  # 0: no scheduled snapshots
    interval_override: float | None = None  # tests and benches: instead of reconcile.interval
    allowed_hosts: tuple[str, ...] = ()  # extra Host headers the web UI, API and MCP answer (loopback always)
    full: bool = False  # --full: every cycle loads, renders and diffs everything (never the no-op index)

    @property
    def mirror_dir(self) -> Path:
        """Where the mirror of repo_url lives."""
        return self.state_dir / "mirror.git"


def webhook_secret(env: dict[str, str] | None = None) -> bytes | None:
    """The webhook HMAC secret from HOMEPORT_WEBHOOK_SECRET or the file HOMEPORT_WEBHOOK_SECRET_FILE names."""
    env = dict(os.environ) if env is None else env
    if env.get(WEBHOOK_SECRET_ENV):
        return env[WEBHOOK_SECRET_ENV].encode()
    path = env.get(WEBHOOK_SECRET_FILE_ENV)
    if path:
        try:
            return Path(path).expanduser().read_text(encoding="utf-8").strip().encode()
        except OSError as exc:
            raise ValueError(f"cannot read {WEBHOOK_SECRET_FILE_ENV}={path}: {exc.strerror}") from None
    return None
