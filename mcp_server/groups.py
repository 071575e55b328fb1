"""The groups of tools (toolsets) homeport-mcp can serve; no imports: `homeport-mcp` reads them before anything else."""

from __future__ import annotations

TOOLSETS: tuple[str, ...] = ("read", "propose", "advice", "admin", "optimize")
# What homeport-mcp serves unless --toolsets says otherwise ("optimize": the cost workflow, on request).
DEFAULT_TOOLSETS: tuple[str, ...] = ("read", "propose", "advice", "admin")
