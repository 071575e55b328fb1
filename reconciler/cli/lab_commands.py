"""init, schema, validate, render: making a lab and checking it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from reconciler.cli.progress import progress_bar
from reconciler.models.progress import Stage
from reconciler.service import authoring


@user_errors
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new lab (created; must be empty)")] = Path("."),
    output: OutputOption = Output.text,
) -> None:
    """Create a lab: a new Git repository holding the example lab, committed on main."""
    commit = authoring.init_lab(directory)
    if output is Output.json:
        print_json({"lab": str(directory.resolve()), "commit": commit})
        return
    console.print(f"[green]Created lab[/] {escape(str(directory.resolve()))} at commit {commit[:12]} on main.")
    console.print(
        "Next: [bold]homeport validate[/], [bold]homeport plan[/], [bold]homeport apply[/] "
        f"(with --lab {escape(str(directory))})."
    )


@user_errors
def schema(
    out: Annotated[Path, typer.Option("--out", help="Folder for the JSON Schemas")] = Path("schemas"),
    output: OutputOption = Output.text,
) -> None:
    """Write the JSON Schemas of homeport.yaml, pools, templates and resources for editors."""
    paths = authoring.write_schemas(out)
    if output is Output.json:
        print_json([str(p) for p in paths])
        return
    for p in paths:
        console.print(f"wrote {escape(str(p))}")
    console.print('Editors: map them with yaml-language-server, e.g. "yaml.schemas" in VS Code settings.')


@user_errors
def validate(
    lab: LabOption = Path("."),
    ref: Annotated[str | None, typer.Option(help="Branch or commit (default main)")] = None,
    render: Annotated[
        bool, typer.Option("--render", help="Also render every chart and run each output's validator")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Check the desired state at a commit: kinds, references, chart values (and rendered outputs)."""
    stages = (Stage.render, Stage.validate) if render else ()
    with open_lab(lab) as service, progress_bar(console, *stages, enabled=output is Output.text) as shown, \
            service.reporting(shown):
        report = authoring.validate(service, ref=ref, render_outputs=render)
    problems, notes = report.problems, report.notes
    if output is Output.json:
        print_json(report.model_dump(exclude={"lab"}))
        if problems:
            raise typer.Exit(1)
        return
    for note in notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if problems:
        console.print(f"[red]{len(problems)} problem(s)[/] at {report.revision[:12]}:")
        for p in problems:
            console.print(f"  {escape(p)}")
    else:
        checked = " and every rendered output passed its validator" if render else ""
        console.print(
            f"[green]valid[/]: lab {report.lab} at {report.revision[:12]}: {report.pools} pools, "
            f"{report.templates} templates, {report.resources} resources; "
            f"{report.rendered} rendered{checked}."
        )
    if problems:
        raise typer.Exit(1)


@user_errors
def render(
    lab: LabOption = Path("."),
    ref: Annotated[str | None, typer.Option(help="Branch or commit (default main)")] = None,
    resource: Annotated[list[str] | None, typer.Option("--resource", "-r", help="Only these resources")] = None,
    output: OutputOption = Output.text,
) -> None:
    """Render every resource's chart into rendered-configs/<resource>/<chart>/."""
    with open_lab(lab) as service, progress_bar(console, Stage.render, enabled=output is Output.text) as shown, \
            service.reporting(shown):
        renders = authoring.render(service, ref=ref, names=resource)
    if output is Output.json:
        print_json({n: a.model_dump() for n, a in renders.artifacts.items()} | {"errors": renders.errors})
    else:
        for name, a in sorted(renders.artifacts.items()):
            console.print(f"  {name}: {a.chart} -> {escape(a.directory)} ({', '.join(a.files)})")
        for name in renders.without_chart:
            console.print(f"  [dim]{name}: no chart renders its provider and type[/]")
        for e in renders.errors:
            console.print(f"  [red]{escape(e)}[/]")
    if renders.errors:
        raise typer.Exit(1)
