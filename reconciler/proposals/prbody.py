"""The pull request body a reviewer can trust at a glance, kept within the forge's size limit."""

from __future__ import annotations

import json

from reconciler.proposals.preview import counts_line
from reconciler.proposals.records import ProposalView

GITHUB_BODY_LIMIT = 65_536  # GitHub rejects pull request bodies longer than this many characters
_ORDER = {"delete": 0, "replace": 1, "rename": 2, "update": 3, "create": 4}


def pull_request_body(p: ProposalView, *, limit: int = GITHUB_BODY_LIMIT, agent: bool = True,
                      whatif: str | None = None) -> str:
    """Banner, summary (counts, deletes and replaces first, risk), reason, evidence, the what-if (Markdown,
    when one was run), then the folded plan."""
    head: list[str] = []
    if agent:
        head.append(f"> **Proposed by an agent** ({p.author}) through homeport. Nothing has changed yet: "
                    "merging this pull request lets the reconciler apply the plan below.")
        head.append("")
    head.append(f"**Plan:** {counts_line(p.plan)} · **risk: {p.risk}**")
    changes = sorted(p.plan.get("changes", []), key=lambda c: (_ORDER.get(c["op"], 9), c["resource"]))
    for c in changes[:50]:
        marker = "⚠️ " if c["op"] in ("delete", "replace") else ""
        head.append(f"- {marker}`{c['op']}` **{c['resource']}** (risk {c['risk']}): {c['reason']}")
    if len(changes) > 50:
        head.append(f"- ... and {len(changes) - 50} more (see the full plan)")
    head.append("")
    head.append("### Why")
    head.append(p.reason or "_no reason given_")
    if p.evidence:
        head.append("")
        head.append("### Evidence")
        head.append("```json")
        head.append(json.dumps(p.evidence, indent=2, default=str)[:4000])
        head.append("```")
    if whatif:
        head.append("")
        head.append("### What-if")
        head.append(whatif[:8000])
    head.append("")
    head.append(f"Files: {', '.join(f'`{f}`' for f in p.files)} · proposal `{p.id}` · branch `{p.branch}`")
    top = "\n".join(head)
    plan_text = json.dumps(p.plan, indent=2, default=str)
    diff = p.rendered_diff or ""
    tail = "\n\n<details><summary>Full plan</summary>\n\n```json\n{plan}\n```\n</details>\n" \
           "\n<details><summary>Rendered diff</summary>\n\n```diff\n{diff}\n```\n</details>\n"
    room = limit - len(top) - len(tail.format(plan="", diff="")) - 200
    if room <= 0:
        return top[: limit - 100] + "\n\n_(truncated to the forge's size limit)_"
    plan_part = plan_text if len(plan_text) <= room // 2 else plan_text[: room // 2] + "\n... (truncated)"
    diff_room = room - len(plan_part)
    diff_part = diff if len(diff) <= diff_room else diff[:diff_room] + "\n... (truncated; see the branch)"
    return top + tail.format(plan=plan_part, diff=diff_part)
