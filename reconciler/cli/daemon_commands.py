"""`homeport daemon`: the long-running reconciler (or one cycle with --once)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.common import Output, OutputOption, console, escape, print_json, user_errors
from reconciler.daemon.service import Daemon
from reconciler.daemon.settings import DaemonSettings
from reconciler.models.lab import duration_seconds
from reconciler.service.lab import check_lab_dir


def _seconds(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        return float(duration_seconds(text))
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None


@user_errors
def daemon(
    lab: Annotated[Path | None, typer.Option("--lab", "-l", help="A local lab repository, used as is",
                                             file_okay=False)] = None,
    repo: Annotated[str | None, typer.Option("--repo", help="The lab's forge URL: mirrored and fetched on change "
                                             "(auth: HOMEPORT_GIT_TOKEN[_FILE] or HOMEPORT_GIT_SSH_KEY)")] = None,
    state_dir: Annotated[Path, typer.Option(help="Where --repo's mirror (and, without HOMEPORT_DATABASE_URL, "
                                            "the SQLite database) live")] = Path("/var/lib/homeport"),
    branch: Annotated[str, typer.Option(help="The branch to apply")] = "main",
    host: Annotated[str, typer.Option(help="Address of the webhook/health/metrics endpoint")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of /webhook, /healthz and /metrics; 0 turns HTTP off")] = 9469,
    poll: Annotated[str, typer.Option(help="First ls-remote cadence with --repo (doubles while unchanged)")] = "30s",
    interval: Annotated[str | None, typer.Option(help="Override reconcile.interval from homeport.yaml")] = None,
    snapshot_every: Annotated[str | None, typer.Option("--snapshot-every",
                                                       help="Take a snapshot this often, e.g. 1d")] = None,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit (0 ok/skipped, 2 otherwise)")] = False,
    allowed_host: Annotated[list[str], typer.Option(
        "--allowed-host", help="Extra Host header the web UI, API and MCP answer, e.g. homeport.lan:9469 "
                               "(repeatable; loopback names always work)")] = [],  # noqa: B006
    full: Annotated[bool, typer.Option("--full", help="Every cycle loads, renders and diffs every resource, even when "
                                       "the no-op index says nothing changed")] = False,
    output: OutputOption = Output.text,
) -> None:
    """Reconcile every reconcile.interval (with jitter), on pushes (webhook) and on polled changes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = DaemonSettings(lab_dir=lab.resolve() if lab else None, repo_url=repo, state_dir=state_dir,
                              branch=branch, host=host, port=port, poll_seconds=_seconds(poll, "--poll") or 30.0,
                              interval_override=_seconds(interval, "--interval"),
                              snapshot_seconds=_seconds(snapshot_every, "--snapshot-every") or 0.0,
                              allowed_hosts=tuple(allowed_host), full=full)
    if lab is not None:
        check_lab_dir(lab)  # a typo in --lab is a clear error now, not a failure every interval
    service = Daemon(settings)
    if not once:
        console.print(f"homeport daemon: {escape(str(lab or repo))}" +
                      (f", http://{host}:{port}/healthz" if port else ""))
        service.serve_forever()
        return
    try:
        result = service.cycle("once")
    finally:
        service.stop()
    if result is None:
        message = service.last_error or "the cycle failed"
        if output is Output.json:
            print_json({"status": "error", "error": message})
        else:
            console.print(f"[red]cycle failed[/]: {escape(message)}")
        raise typer.Exit(2)
    if output is Output.json:
        print_json({"run_id": result.run_id, "status": result.status, "revision": result.revision,
                    "counts": result.counts, "error": result.error, "notes": result.notes,
                    "repo_error": service.repo_error})
    else:
        console.print(f"run {result.run_id or '-'}: {result.status} at {(result.revision or '-')[:12]} "
                      f"{escape(str(result.counts))}")
        if result.error:
            console.print(f"[red]{escape(result.error)}[/]")
    if result.status not in ("ok", "skipped"):
        raise typer.Exit(2)
