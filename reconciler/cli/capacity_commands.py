"""capacity: per node, what it has, what is allocated to guests, the overcommit ratio, usage and what is free."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reconciler.cli.common import LabOption, Output, OutputOption, console, escape, open_lab, print_json, user_errors
from reconciler.service import queries


def _share(used: float, total: float) -> str:
    return f"{used / total:.0%}" if total else "-"


@user_errors
def capacity(
    lab: LabOption = Path("."),
    provider: Annotated[str | None, typer.Option(help="Only this provider (a name from homeport.yaml)")] = None,
    output: OutputOption = Output.text,
) -> None:
    """Capacity, allocation (x ratio), usage and free-to-place per node of every enabled provider."""
    with open_lab(lab) as service:
        report = queries.capacity(service, provider=provider)
    if output is Output.json:
        print_json(report.model_dump(mode="json"))
        return
    table = Table(title="Capacity (allocated / cores x ratio; usage only warns)")
    for column in ("provider", "node", "status", "vCPU allocated", "free vCPU", "memory GiB allocated",
                   "free GiB", "usage cpu/mem", "guests", "GPUs free"):
        table.add_column(column)
    for n in report.nodes:
        cpu_cap = n.cpu * n.cpu_allocation_ratio
        mem_cap = n.memory_gb * n.memory_allocation_ratio
        table.add_row(
            escape(n.provider),
            escape(n.node),
            escape(n.status),
            f"{n.cpu_allocated:g} / {n.cpu:g} x {n.cpu_allocation_ratio:g} = {cpu_cap:g}" if n.cpu else "unknown",
            f"{n.cpu_free_to_place:g}" if n.cpu else "-",
            f"{n.memory_allocated_gb:g} / {n.memory_gb:g} x {n.memory_allocation_ratio:g} = {mem_cap:g}"
            if n.memory_gb
            else "unknown",
            f"{n.memory_free_to_place_gb:g}" if n.memory_gb else "-",
            f"{_share(n.cpu_used, n.cpu)} / {_share(n.memory_used_gb, n.memory_gb)}",
            str(n.guests),
            f"{n.gpus_free}/{n.gpus}" if n.gpus else "-",
        )
    console.print(table)
    for name, why in sorted(report.unavailable.items()):
        if "is disabled" not in why:
            console.print(f"[dim]{escape(name)}: {escape(why)}[/]")
