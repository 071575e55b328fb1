"""Desired-state errors: every issue names the file, the line and the field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceIssue:
    """One problem in the desired state."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f" {self.field}:" if self.field else ""
        return f"{where}:{what} {self.message}"


class DesiredStateError(Exception):
    """The desired state at a revision is invalid; `issues` lists every problem found."""

    def __init__(self, issues: list[SourceIssue], revision: str | None = None) -> None:
        self.issues = issues
        self.revision = revision
        head = f"desired state at {revision[:12]} is invalid" if revision else "desired state is invalid"
        super().__init__(head + ":\n" + "\n".join(f"  {i}" for i in issues))


class GitSourceError(Exception):
    """The repository or ref cannot be read; the message says what to do."""
