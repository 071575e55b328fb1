"""A plan as people read it: coloured, deletes and replaces first, every no-op with its reason."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from reconciler.cli.common import escape
from reconciler.models.plan import Change, Op, Plan

_STYLE = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "replace": ("-/+", "magenta"),
    "delete": ("-", "red"),
    "rename": ("->", "cyan"),
    "noop": ("=", "dim"),
}
_ORDER = {"delete": 0, "replace": 1, "rename": 2, "update": 3, "create": 4, "noop": 5}


def _value(v: Any) -> str:
    text = repr(v) if not isinstance(v, str) else v
    return escape(text if len(text) <= 80 else text[:77] + "...")


def print_change(console: Console, change: Change, *, verbose: bool = True) -> None:
    """One change with its fields."""
    sym, colour = _STYLE[change.op.value]
    where = f" on {change.node}" if change.node else ""
    risk = f" risk {change.risk.value}" if change.op is not Op.noop else ""
    console.print(
        f"  [{colour}]{sym} {change.resource}[/] [dim]{change.provider}{where}{risk}[/]  {escape(change.reason)}"
    )
    if change.blocked and change.op is not Op.noop:
        console.print(f"      [bold yellow]held back:[/] {escape(change.blocked)}")
    if change.placement is not None and change.op is Op.create:
        for note in change.placement.warnings:
            console.print(f"      [dim]placement: {escape(note)}[/]")
    if change.preview:
        console.print(f"      [cyan]{escape(str(change.preview.get('kind', 'provider preview')))}[/]:")
        for line in change.preview.get("lines", []):
            console.print(f"        {escape(str(line))}")
    if verbose and change.op in (Op.update, Op.replace, Op.rename):
        for f in change.fields:
            mark = " [magenta](forces replacement)[/]" if f.forces_replacement else ""
            console.print(f"      {escape(f.path)}: [red]{_value(f.old)}[/] -> [green]{_value(f.new)}[/]{mark}")


def print_plan(console: Console, plan: Plan, *, ref: str = "main") -> None:
    """The whole plan and its summary."""
    console.print(f"[bold]Plan for lab {plan.lab}[/] at {plan.revision[:12]} ({ref})")
    skipped = [c for c in plan.changes if c.op is Op.noop and c.blocked]
    shown = [c for c in plan.changes if c not in skipped]
    for change in sorted(shown, key=lambda c: (_ORDER[c.op.value], c.resource)):
        print_change(console, change)
    if skipped:
        by_reason: dict[str, list[str]] = {}
        for c in skipped:
            by_reason.setdefault(c.blocked or "", []).append(c.resource)
        for reason, names in sorted(by_reason.items()):
            console.print(f"  [dim]… not planned ({escape(reason)}): {', '.join(sorted(names))}[/]")
    if plan.unmanaged:
        console.print(f"  [dim]unmanaged (reported, never touched): {escape(', '.join(plan.unmanaged))}[/]")
    counts = plan.counts()
    held = counts["held_back"]
    console.print(
        f"[bold]Summary:[/] {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, "
        f"{counts['rename']} to rename, {counts['delete']} to delete, {counts['noop'] - len(skipped)} unchanged"
        + (f", {held} held back" if held else "")
        + (f". Highest risk: {plan.risk.value}." if plan.has_changes else ". Nothing to do.")
    )


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as JSON for scripts."""
    data = plan.model_dump(mode="json")
    data["summary"] = {**plan.counts(), "risk": plan.risk.value, "has_changes": plan.has_changes}
    return data
