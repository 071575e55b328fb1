"""`homeport serve`: the web UI, REST API and MCP for a lab on one port, without the scheduler (a laptop)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.common import LabOption, console, escape, user_errors
from reconciler.web.runner import BackgroundRunner
from reconciler.web.serve import serve_lab
from reconciler.web.settings import WebSettings


@user_errors
def serve(
    lab: LabOption = Path("."),
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the UI (/), the API (/api/v1) and MCP (/mcp)")] = 8080,
    allowed_host: Annotated[list[str], typer.Option("--allowed-host",
                                                    help="Extra Host header to answer, e.g. homeport.lan:8080 "
                                                         "(repeatable; loopback names always work)")] = [],  # noqa: B006
    secure_cookies: Annotated[bool, typer.Option(
        "--secure-cookies", help="Mark the session cookie Secure (behind an HTTPS proxy)")] = False,
) -> None:
    """Serve the web UI at /, the REST API at /api/v1 and MCP at /mcp; runs start on approval or "Run now"."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    lab_dir = lab.resolve()
    settings = WebSettings(allowed_hosts=list(allowed_host), secure_cookies=secure_cookies)
    runner = BackgroundRunner(lab_dir)
    served = serve_lab(lab_dir, settings=settings, public_url=f"http://{host}:{port}", host=host,
                       trigger_run=runner.trigger)
    console.print(f"homeport serve: {escape(str(lab_dir))} at http://{host}:{port}/ (API /api/v1, MCP /mcp)")
    try:
        uvicorn.run(served.app, host=host, port=port, log_level="warning")
    finally:
        runner.wait(60)
        served.close()
