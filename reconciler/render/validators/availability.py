"""Finding a validator's tool, and the issue reported when it is not installed (never a traceback)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from reconciler.render.validators.issue import ValidationIssue

DEV_HINT = "install homeport's dev group (`uv sync --group dev`) or the package named"


def venv_binary(name: str) -> Path | None:
    """An executable installed beside the running Python (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def has_module(name: str) -> bool:
    """Whether a Python module can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def not_installed(filename: str, tool: str, package: str) -> ValidationIssue:
    """The issue a validator reports when its tool is missing: what to install, not a traceback."""
    return ValidationIssue(file=filename, tool=tool, severity="unavailable",
                           message=f"validator {tool} not installed: {DEV_HINT} ({package}); "
                                   f"{filename} was not checked by it")
