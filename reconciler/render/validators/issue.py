"""A problem a validator found in a rendered file."""

from __future__ import annotations

from pydantic import BaseModel


class ValidationIssue(BaseModel):
    """File, position, message and which tool said so."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None
    tool: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        pos = f":{self.line}" + (f":{self.column}" if self.column else "") if self.line else ""
        return f"{self.file}{pos}: {self.message} [{self.tool}]"
