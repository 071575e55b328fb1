"""The MCP streamable HTTP app for a process that serves other routes on the same port (the daemon,
`homeport serve`): found by `reconciler.web.serve` through the `homeport.mcp` entry point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.server import build_server, http_app


@dataclass
class McpMount:
    """The MCP app and the lab session behind it."""

    app: Starlette
    homeport: HomeportApp

    def close(self) -> None:
        """Close the MCP server's lab session."""
        self.homeport.close()


def http(lab_dir: Path, *, database_url: str | None = None, host: str = "127.0.0.1",
         allowed_hosts: list[str] | None = None, public_url: str = "http://127.0.0.1:8765", **_: Any) -> McpMount:
    """MCP over streamable HTTP at /mcp with bearer tokens (every request carries one; none acts as a local user)."""
    homeport = HomeportApp(lab_dir, database_url=database_url)
    nobody = Caller(actor="anonymous", scopes=frozenset(), kind="agent")
    server = build_server(homeport, local_caller=nobody, http_auth=True, public_url=public_url)
    return McpMount(app=http_app(server, host=host, allowed_hosts=list(allowed_hosts or [])), homeport=homeport)
