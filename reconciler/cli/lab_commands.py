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
    open_session,
    print_json,
    user_errors,
)
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.phases.render import chart_for, render_all
from reconciler.render.validators import blocking, validate_rendered
from reconciler.source.scaffold import create_lab
from reconciler.source.schemas import write_schemas


@user_errors
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new lab (created; must be empty)")] = Path("."),
    output: OutputOption = Output.text,
) -> None:
    """Create a lab: a new Git repository holding the example lab, committed on main."""
    commit = create_lab(directory)
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
    paths = write_schemas(out)
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
    session = open_session(lab)
    try:
        revision = fetch(session, ref)
        state = load(session, revision)
        renders = render_all(session, state, use_index=not render)
        problems = list(renders.errors)
        notes: list[str] = []
        if render:
            for name, artifacts in sorted(renders.artifacts.items()):
                chart = chart_for(session, state.effective[name])
                if chart is None:
                    continue
                for issue in validate_rendered(artifacts.files, chart):
                    line = f"{name} ({artifacts.chart}): {issue}"
                    (problems if blocking([issue]) else notes).append(line)
        summary = {
            "revision": state.revision,
            "pools": len(state.pools),
            "templates": len(state.templates),
            "resources": len(state.resources),
            "rendered": len(renders.artifacts),
            "without_chart": renders.without_chart,
            "problems": problems,
            "notes": notes,
        }
        if output is Output.json:
            print_json(summary)
            if problems:
                raise typer.Exit(1)
            return
        for note in notes:
            console.print(f"[dim]note: {escape(note)}[/]")
        if problems:
            console.print(f"[red]{len(problems)} problem(s)[/] at {state.revision[:12]}:")
            for p in problems:
                console.print(f"  {escape(p)}")
        else:
            checked = " and every rendered output passed its validator" if render else ""
            console.print(
                f"[green]valid[/]: lab {state.lab_name} at {state.revision[:12]}: {len(state.pools)} pools, "
                f"{len(state.templates)} templates, {len(state.resources)} resources; "
                f"{len(renders.artifacts)} rendered{checked}."
            )
        if problems:
            raise typer.Exit(1)
    finally:
        session.close()


@user_errors
def render(
    lab: LabOption = Path("."),
    ref: Annotated[str | None, typer.Option(help="Branch or commit (default main)")] = None,
    resource: Annotated[list[str] | None, typer.Option("--resource", "-r", help="Only these resources")] = None,
    output: OutputOption = Output.text,
) -> None:
    """Render every resource's chart into rendered-configs/<resource>/<chart>/."""
    session = open_session(lab)
    try:
        state = load(session, fetch(session, ref))
        unknown = sorted(set(resource or []) - set(state.effective))
        if unknown:
            raise ValueError(f"no resource named {', '.join(unknown)}")
        renders = render_all(session, state, write=True, names=set(resource) if resource else None)
        if output is Output.json:
            print_json(
                {
                    n: {"chart": a.chart, "directory": str(a.directory), "files": sorted(a.files)}
                    for n, a in renders.artifacts.items()
                }
                | {"errors": renders.errors}
            )
        else:
            for name, a in sorted(renders.artifacts.items()):
                console.print(f"  {name}: {a.chart} -> {escape(str(a.directory))} ({', '.join(sorted(a.files))})")
            for name in renders.without_chart:
                console.print(f"  [dim]{name}: no chart renders its provider and type[/]")
            for e in renders.errors:
                console.print(f"  [red]{escape(e)}[/]")
        if renders.errors:
            raise typer.Exit(1)
    finally:
        session.close()
