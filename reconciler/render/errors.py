"""Render failures, each naming the resource, the chart and the field or template line."""

from __future__ import annotations


class RenderError(Exception):
    """A chart could not render a resource. `str()` is the message a person reads."""

    def __init__(
        self,
        resource: str,
        chart: str,
        message: str,
        *,
        field: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        where = f"chart {chart}"
        if file:
            where += f", {file}" + (f" line {line}" if line else "")
        what = f"field {field}: " if field else ""
        super().__init__(f"resource {resource}, {where}: {what}{message}")
        self.resource = resource
        self.chart = chart
        self.field = field
        self.file = file
        self.line = line


class ChartError(Exception):
    """A chart directory is malformed (missing Chart.yaml, bad schema)."""
