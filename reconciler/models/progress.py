"""Progress of a long step (apply, render, validate), reported by the engine to whoever shows it."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Stage(StrEnum):
    """Which long step reports."""

    apply = "apply"
    render = "render"
    validate = "validate"


class Progress(BaseModel):
    """`done` of `total` items finished; `item` is the one being worked on now (empty when all are done)."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    done: int
    total: int
    item: str = ""


ProgressCallback = Callable[[Progress], None]
