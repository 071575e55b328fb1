"""What every command shares: the --lab and --output options, error handling, the console."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from reconciler.models.text import visible_text
from reconciler.service import LabService, ServiceError
from reconciler.service.errors import cli_message, exit_code

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class Output(StrEnum):
    """Output formats."""

    text = "text"
    json = "json"


LabOption = Annotated[
    Path, typer.Option("--lab", "-l", help="The lab's Git repository (default: current directory)", file_okay=False)
]
OutputOption = Annotated[Output, typer.Option("--output", "-o", help="text for people, json for scripts")]

P = ParamSpec("P")
R = TypeVar("R")


def user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a user's mistake into one clear message and exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ServiceError as exc:
            err_console.print(f"[bold red]error:[/] {escape(cli_message(exc))}")
            raise typer.Exit(exit_code(exc)) from None
        except ValueError as exc:  # the CLI's own checks of its options
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(1) from None

    return wrapper


def escape(text: str) -> str:
    """Text safe to print through Rich markup, with bidi and control characters shown as escapes."""
    from rich.markup import escape as rich_escape

    return rich_escape(visible_text(text))


def open_lab(lab: Path, *, actor: str = "cli") -> LabService:
    """Open the lab at path for the person at this terminal (actor `cli:<user>`)."""
    return LabService.open_for_cli(lab, command=actor)


def print_json(data: Any) -> None:
    """JSON to stdout (no Rich processing)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")
    sys.stdout.flush()
