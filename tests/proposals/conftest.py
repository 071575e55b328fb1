"""Proposal fixtures: a fresh applied example lab and a session on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.phases.context import LabSession
from tests.backends.homeport_lab import make_lab


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A fresh applied example lab."""
    return make_lab(tmp_path / "lab")


@pytest.fixture
def session(lab: Path) -> Iterator[LabSession]:
    """An agent's session on the lab."""
    s = LabSession.open(lab, actor="agent:test", actor_kind="agent")
    yield s
    s.close()
