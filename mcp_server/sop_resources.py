"""SOPs as MCP resources: `homeport://sops/<name>` (Markdown), one per file under advisor/sops/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server import MCPServer

from mcp_server.advisor.sops import sop_names, sop_sections, sop_text


def register_sop_resources(server: MCPServer[Any]) -> None:
    """One static resource per SOP file."""
    for name in sop_names():
        title = sop_sections(name)["title"]
        server.resource(f"homeport://sops/{name}", name=f"sop-{name}", title=title,
                        description=f"Standard operating procedure: {title}", mime_type="text/markdown")(_reader(name))


def _reader(name: str) -> Callable[[], str]:
    def read() -> str:
        return sop_text(name)

    return read
