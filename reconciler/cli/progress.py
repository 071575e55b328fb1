"""Progress bars for long commands (apply, render, validate --render) on a terminal: done/total, the
item being worked on, elapsed time and ETA. Off the terminal (pipes, CI, --output json) nothing is drawn
and the commands print their plain lines as before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar

from reconciler.models.progress import Progress, ProgressCallback, Stage

_LABEL = {Stage.apply: "applying", Stage.render: "rendering", Stage.validate: "validating"}


@contextmanager
def progress_bar(console: Console, *stages: Stage, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """A callback drawing one bar per stage (started at its first event), or None off a terminal."""
    if not enabled or not console.is_terminal:
        yield None
        return
    bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
              TextColumn("ETA"), TimeRemainingColumn(), TextColumn("[dim]{task.fields[item]}"),
              console=console, transient=True)
    tasks: dict[Stage, TaskID] = {}

    def update(p: Progress) -> None:
        if p.stage not in stages or not p.total:
            return
        if not tasks:
            bar.start()
        if p.stage not in tasks:
            tasks[p.stage] = bar.add_task(_LABEL[p.stage], total=p.total, item="")
        bar.update(tasks[p.stage], completed=p.done, total=p.total, item=p.item)

    try:
        yield update
    finally:
        if tasks:
            bar.stop()
