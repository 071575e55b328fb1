"""`homeport version`: the installed version, from the package metadata (one source: pyproject.toml)."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version


def installed_version() -> str:
    """homeport's version as installed, or "unknown" when run from a tree that was never installed."""
    try:
        return package_version("homeport")
    except PackageNotFoundError:
        return "unknown"


def version() -> None:
    """Print homeport's version (and the Python running it)."""
    sys.stdout.write(f"homeport {installed_version()} (Python {platform.python_version()})\n")
