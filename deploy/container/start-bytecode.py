"""Run once as root in the image's final stage: import what the daemon and the CLI import at start-up, so
Python writes the bytecode of every standard-library module they use.

The official python:3.11-slim-bookworm base deletes the standard library's .pyc files to stay small, and
the daemon runs as a user that cannot write them, so without this every start would compile those modules
again (~1 s of CPU). Compiling only what is imported keeps the image smaller than compiling all of it.
The venv's own bytecode is compiled when it is installed (UV_COMPILE_BYTECODE). On a base that already
has the bytecode (Debian's python3.11) this writes nothing.
"""

from __future__ import annotations

import importlib

from reconciler.cli import COMMANDS
from reconciler.providers.registry import PROVIDER_MODULES, provider_class

START = [
    "reconciler.cli.daemon_commands", "reconciler.daemon.service", "reconciler.web.serve", "mcp_server.mount",
    "mcp_server.server", "uvicorn.main", "uvicorn.lifespan.on", "uvicorn.loops.auto", "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto", "alembic.command", "alembic.runtime.environment", "logging.handlers",
    "sqlite3", "json.encoder", "email.message", "http.client", "urllib.request", "ssl", "uuid", "zoneinfo",
]


def main() -> None:
    """Import the start-up modules, every CLI command and each installed provider (a missing SDK is fine)."""
    names = [*START, *(f"reconciler.cli.{entry.module}" for entry in COMMANDS.values()), "ansible_runner"]
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # ansible_runner without the ansible extra
            missing.append(f"{name} ({exc.name})")
    for provider_type in PROVIDER_MODULES:
        try:
            provider_class(provider_type)
        except Exception as exc:  # the provider's extra is not installed (ProviderUnavailableError)
            missing.append(f"{provider_type} provider ({exc})")
    print(f"start-up bytecode: {len(names)} modules and {len(PROVIDER_MODULES)} providers imported, "
          f"except: {'; '.join(missing) or 'none'}")


if __name__ == "__main__":
    main()
