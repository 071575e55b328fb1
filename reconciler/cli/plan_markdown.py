"""A plan as a pull-request comment (`homeport plan --output markdown`): summary first, deletes and
replaces first, risk, folded details, and never longer than GitHub accepts."""

from __future__ import annotations

from typing import Any

from reconciler.models.plan import Change, Op, Plan

MARKER = "<!-- homeport-plan -->"
COMMENT_LIMIT = 65_536  # GitHub refuses issue and pull-request comments longer than this many characters
_ORDER = {"delete": 0, "replace": 1, "rename": 2, "update": 3, "create": 4, "noop": 5}
_ICON = {"delete": "🔴", "replace": "🟣", "rename": "🔵", "update": "🟡", "create": "🟢", "noop": "⚪"}
_LISTED = 50


def _cell(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("|", "\\|").replace("`", "'").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _code(value: Any) -> str:
    return "—" if value is None else f"`{_cell(value)}`"


def _held(change: Change) -> str | None:
    blocked: Any = change.blocked
    if blocked is None:
        return None
    return str(getattr(blocked, "message", blocked))


def _summary(plan: Plan) -> str:
    counts = plan.counts()
    held = sum(1 for c in plan.actionable if _held(c))
    parts = [f"{counts[op]} to {op}" for op in ("create", "update", "replace", "rename", "delete") if counts[op]]
    if not parts:
        return "**No changes.** Every declared resource matches its live state."
    text = ", ".join(parts) + f" · **highest risk: {plan.risk.value}**"
    return text + (f" · ⚠️ {held} held back" if held else "")


def _change_line(change: Change) -> str:
    where = f" on `{change.node}`" if change.node else ""
    line = (f"- {_ICON[change.op.value]} **{change.op.value}** `{change.resource}` "
            f"({change.provider}{where}, risk {change.risk.value}): {_cell(change.reason, 200)}")
    held = _held(change)
    return line + (f"\n  - held back: {_cell(held, 300)}" if held else "")


def _details(change: Change) -> list[str]:
    if not change.fields:
        return []
    rows = [f"**{change.op.value} `{change.resource}`**", "", "| field | now | after |", "|---|---|---|"]
    for f in change.fields:
        mark = " (forces replacement)" if f.forces_replacement else ""
        rows.append(f"| `{_cell(f.path)}`{mark} | {_code(f.old)} | {_code(f.new)} |")
    return [*rows, ""]


def plan_markdown(plan: Plan, *, ref: str = "main", limit: int = COMMENT_LIMIT) -> str:
    """The comment body: marker, heading, summary, the changes (deletes and replaces first), folded field
    tables and no-ops; cut on a section boundary to stay under `limit` characters."""
    changes = sorted(plan.actionable, key=lambda c: (_ORDER[c.op.value], c.resource))
    head = [MARKER, f"### homeport plan for `{plan.lab}` at `{plan.revision[:12]}` ({ref})", "", _summary(plan), ""]
    head += [_change_line(c) for c in changes[:_LISTED]]
    if len(changes) > _LISTED:
        head.append(f"- … and {len(changes) - _LISTED} more (see the details below)")
    if plan.unmanaged:
        head += ["", f"Unmanaged (reported, never touched): {_cell(', '.join(plan.unmanaged), 500)}"]
    notes = [w for w in plan.warnings if "is disabled" not in w]
    if notes:
        head += ["", *[f"> note: {_cell(w, 300)}" for w in notes[:10]]]
    top = "\n".join(head) + "\n"
    details = [line for c in changes for line in _details(c)]
    noops = [c for c in plan.changes if c.op is Op.noop]
    sections = []
    if details:
        sections.append("<details><summary>Field changes</summary>\n\n" + "\n".join(details) + "\n</details>\n")
    if noops:
        body = "\n".join(f"- `{c.resource}`: {_cell(c.reason, 200)}" for c in sorted(noops, key=lambda c: c.resource))
        sections.append(f"<details><summary>{len(noops)} unchanged</summary>\n\n{body}\n</details>\n")
    footer = "\n_Merging lets the homeport reconciler apply this plan; nothing has changed yet._\n"
    text = top
    for section in sections:
        if len(text) + len(section) + len(footer) + 1 > limit:
            text += "\n_(details cut to the comment size limit; run `homeport plan` for all of them)_\n"
            break
        text += "\n" + section
    text += footer
    return text if len(text) <= limit else text[: limit - 80] + "\n\n_(cut to the comment size limit)_\n"
