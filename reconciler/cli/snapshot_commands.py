"""`homeport snapshot`: record the observed inventory plus the desired state, list and show snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from reconciler.cli.common import (
    LabOption,
    Output,
    OutputOption,
    console,
    escape,
    open_lab,
    print_json,
    user_errors,
)
from reconciler.service import commands, queries

snapshot_app = typer.Typer(help="Snapshots of the observed infrastructure and desired state.", no_args_is_help=True)


@snapshot_app.command("create")
@user_errors
def create(name: Annotated[str | None, typer.Option(help="A name (default: manual-<time>)")] = None,
           notes: Annotated[str | None, typer.Option(help="Free text kept with it")] = None,
           lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Observe every enabled provider and store it with main's desired state (secrets left out)."""
    with open_lab(lab) as service:
        summary = commands.snapshot(service, name=name, notes=notes)
    if output is Output.json:
        print_json(summary.model_dump(include={"id", "name", "revision", "resources_desired", "resources_observed",
                                               "providers_unavailable"}))
        return
    console.print(f"snapshot {summary.id[:12]} [bold]{escape(summary.name)}[/] at {summary.revision[:12]}: "
                  f"{summary.resources_desired} desired, {summary.resources_observed} observed"
                  + (f"; unavailable: {', '.join(summary.providers_unavailable)}" if summary.providers_unavailable
                     else ""))



@snapshot_app.command("list")
@user_errors
def list_(lab: LabOption = Path("."), limit: int = 20, output: OutputOption = Output.text) -> None:
    """Newest snapshots first."""
    with open_lab(lab) as service:
        rows = queries.snapshots(service, limit=limit, with_data=True)
    items: list[dict[str, Any]] = [{"id": r.id, "name": r.name, "type": r.snapshot_type, "revision": r.revision,
              "created_at": r.created_at, "created_by": r.created_by,
              "resources": len((r.data or {}).get("observed_resources", []))} for r in rows]
    if output is Output.json:
        print_json(items)
        return
    if not items:
        console.print("no snapshots yet: `homeport snapshot create`")
    for i in items:
        console.print(f"{i['id'][:12]} {i['created_at']:%Y-%m-%d %H:%M:%S} {i['type']:<9} {escape(i['name'])} "
                      f"rev {(i['revision'] or '-')[:12]} ({i['resources']} observed)")


@snapshot_app.command("show")
@user_errors
def show(snapshot_id: Annotated[str, typer.Argument(help="Snapshot id or a unique prefix of it")],
         lab: LabOption = Path(".")) -> None:
    """The snapshot's full JSON document."""
    with open_lab(lab) as service:
        row = queries.snapshot(service, snapshot_id)
    print_json({"id": row.id, "name": row.name, "type": row.snapshot_type, "revision": row.revision,
                "created_at": row.created_at, "created_by": row.created_by, "notes": row.notes,
                "data": json.loads(json.dumps(row.data, default=str))})
