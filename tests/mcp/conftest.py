"""MCP fixtures: a real applied lab, the HomeportApp serving it, and the server object."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.server import build_server
from tests.backends.homeport_lab import make_lab


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One applied example lab per test module (tests that write use `lab`)."""
    return make_lab(tmp_path_factory.mktemp("mcp") / "lab")


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A fresh applied example lab."""
    return make_lab(tmp_path / "lab")


@pytest.fixture
def app(lab: Path) -> Iterator[HomeportApp]:
    """The app serving the fresh lab."""
    served = HomeportApp(lab)
    yield served
    served.close()


def caller(*scopes: str) -> Caller:
    """A local caller holding scopes."""
    return Caller(actor="test-agent", scopes=frozenset(scopes), owner="tester", kind="agent")


def server_for(app: HomeportApp, *scopes: str, **kwargs: Any) -> Any:
    """The MCP server whose local caller holds scopes."""
    return build_server(app, local_caller=caller(*scopes), **kwargs)
