"""The plan preview stored with a proposal: counts, risk, actionable changes and the rendered diff."""

from __future__ import annotations

import difflib
from typing import Any

from reconciler.models.desired import DesiredState
from reconciler.models.plan import Op, Plan
from reconciler.phases.context import LabSession
from reconciler.phases.diff import plan_lab
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.phases.observe import Observation, observe_all
from reconciler.phases.render import render_all
from reconciler.phases.run import PlanError
from reconciler.store.instances import load_instances

MAX_DIFF_CHARS = 200_000


def preview_plan(session: LabSession, commit_id: str,
                 observation: Observation | None = None) -> tuple[DesiredState, Plan]:
    """The plan applying this commit would run now (fetch, load, render, observe, diff; no gate).

    A caller that just observed (the MCP server, proposing several changes in a row) may pass that
    observation; otherwise the providers are observed now. Raises DesiredStateError or PlanError.
    """
    state = load(session, fetch(session, commit_id))
    renders = render_all(session, state)
    if renders.errors:
        raise PlanError("rendering failed:\n" + "\n".join(f"  {e}" for e in renders.errors))
    observed = observation if observation is not None else observe_all(session, state)
    plan = plan_lab(session, state, observed, load_instances(session.db, state.lab_name))
    return state, plan


def plan_preview(plan: Plan) -> dict[str, Any]:
    """A compact, JSON-ready preview: counts, risk and the actionable changes (no-ops only counted)."""
    return {
        "revision": plan.revision,
        "risk": plan.risk.value,
        "counts": plan.counts(),
        "changes": [c.model_dump(mode="json", exclude={"desired"}) for c in plan.actionable],
        "warnings": list(plan.warnings),
        "unmanaged": len(plan.unmanaged),
    }


def rendered_diff(session: LabSession, base: DesiredState | None, head: DesiredState, plan: Plan) -> str:
    """Unified diff of the rendered artifacts of every resource the plan changes, base -> proposal."""
    names = {c.resource for c in plan.actionable}
    names |= {c.previous_name for c in plan.actionable if c.previous_name}
    if not names:
        return ""
    before = render_all(session, base, names=names).artifacts if base is not None else {}
    after = render_all(session, head, names=names).artifacts
    chunks: list[str] = []
    for name in sorted(names):
        old = before.get(name)
        new = after.get(name)
        files = sorted(set(old.files if old else {}) | set(new.files if new else {}))
        for rel in files:
            a = (old.files.get(rel, "") if old else "").splitlines(keepends=True)
            b = (new.files.get(rel, "") if new else "").splitlines(keepends=True)
            if a == b:
                continue
            chunks.extend(difflib.unified_diff(a, b, f"a/{name}/{rel}", f"b/{name}/{rel}"))
            if chunks and not chunks[-1].endswith("\n"):
                chunks[-1] += "\n"
    text = "".join(chunks)
    if len(text) > MAX_DIFF_CHARS:
        text = text[:MAX_DIFF_CHARS] + f"\n... (diff truncated at {MAX_DIFF_CHARS} characters)\n"
    return text


def counts_line(plan: dict[str, Any]) -> str:
    """'1 create, 2 update' from a stored preview."""
    counts = plan.get("counts", {})
    parts = [f"{counts[op.value]} {op.value}" for op in Op if op is not Op.noop and counts.get(op.value)]
    return ", ".join(parts) or "no changes"
