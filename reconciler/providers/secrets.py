"""Secrets come from environment variables or files, by reference; values are never logged or stored."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.providers.errors import PermanentProviderError


def read_secret(env: str | None = None, file: str | None = None, *, what: str = "secret") -> str | None:
    """The secret named by an environment variable or held in a file; None when neither is set."""
    if env:
        value = os.environ.get(env)
        if value:
            return value
        if not file:
            raise PermanentProviderError(f"{what}: environment variable {env} is not set")
    if file:
        path = Path(file).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PermanentProviderError(f"{what}: cannot read secrets file {path}: {exc.strerror}") from exc
    return None
