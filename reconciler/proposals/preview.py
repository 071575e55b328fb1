"""The plan preview stored with a proposal: counts, risk, actionable changes and the rendered diff."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import Any

import pygit2

from reconciler.models.desired import DesiredState
from reconciler.models.plan import Change, Op, Plan
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.phases.observe import Observation, observe_all
from reconciler.phases.run import PlanError
from reconciler.proposals.trial import trial_state
from reconciler.store.instances import InstanceSnapshot, load_instances

MAX_DIFF_CHARS = 200_000


@dataclass
class PreviewMemo:
    """main's plan against one observation, kept so proposals made in a row only re-plan what they change."""

    revision: str | None = None
    observation: Observation | None = None
    plan: Plan | None = None
    instances: dict[str, InstanceSnapshot] = field(default_factory=dict)


def preview_plan(session: LabSession, commit_id: str, observation: Observation | None = None,
                 base: DesiredState | None = None, memo: PreviewMemo | None = None,
                 edits: dict[str, bytes | None] | None = None) -> tuple[DesiredState, Plan]:
    """The plan applying this commit would run now (fetch, load, render, observe, diff; no gate).

    Without an observation the providers are observed now and every resource is planned. A caller that
    holds a fresh observation (the MCP server, proposing several changes in a row) passes it with the base
    state and a memo: main's plan against that observation is computed once, and only the resources the
    commit adds, changes or removes are planned again; the other resources' changes are main's, which is
    exactly what they would be after the merge; with `edits` (the files the commit changes on top of base)
    its state is derived from base's (see trial.trial_state). Raises DesiredStateError or PlanError.
    """
    from reconciler.phases.diff import plan_lab  # the planner and renderer load where used: a plan answered
    #                                              from the no-op index never imports them

    if base is not None and edits is not None and memo is not None:
        state = trial_state(session, base, session.repo[commit_id].peel(pygit2.Commit), edits)
    else:
        state = load(session, fetch(session, commit_id))
    if observation is None or base is None or memo is None:
        _check_renders(session, state, None)
        observed = observation if observation is not None else observe_all(session, state)
        return state, plan_lab(session, state, observed, load_instances(session.db, state.lab_name))
    if memo.revision != base.revision or memo.observation is not observation or memo.plan is None:
        memo.instances = load_instances(session.db, state.lab_name)
        memo.plan = plan_lab(session, base, observation, memo.instances)
        memo.revision, memo.observation = base.revision, observation
    changed = {n for n, r in state.effective.items() if base.effective.get(n) != r}
    removed = set(base.effective) - set(state.effective)
    # Unchanged resources render as they do on main; only the changed ones are rendered and planned again.
    _check_renders(session, state, changed)
    renamed = {r.renamed_from for n, r in state.effective.items() if n in changed and r.renamed_from}
    involved = changed | removed | renamed
    narrow = Observation(inventories={name: inv.model_copy(update={"resources": [r for r in inv.resources
                                                                                 if r.name in involved]})
                                      for name, inv in observation.inventories.items()},
                         unavailable=dict(observation.unavailable))
    partial = plan_lab(session, replace(state, effective={n: state.effective[n] for n in changed}), narrow,
                       memo.instances)
    kept = [c for c in memo.plan.changes if c.resource not in changed and c.resource not in removed]
    fresh = [c for c in partial.changes if c.resource in changed or c.resource in removed]
    declared = set(state.effective)

    def order(c: Change) -> tuple[bool, str, str]:  # build_plan's order: declared by name, then deletions
        undeclared = c.resource not in declared
        return (undeclared, c.provider if undeclared else "", c.resource)

    plan = Plan(lab=state.lab_name, revision=state.revision, changes=sorted(kept + fresh, key=order),
                unmanaged=memo.plan.unmanaged, warnings=partial.warnings)
    return state, plan


def _check_renders(session: LabSession, state: DesiredState, names: set[str] | None) -> None:
    from reconciler.phases.render import render_all

    renders = render_all(session, state, names=names)
    if renders.errors:
        raise PlanError("rendering failed:\n" + "\n".join(f"  {e}" for e in renders.errors))


def _field_key(f: Any) -> tuple[str, str, str]:
    return (f.path, repr(f.old), repr(f.new))


def split_pending(plan: Plan, main_plan: Plan | None) -> tuple[Plan, list[dict[str, Any]]]:
    """(the proposal's own plan, what main's plan would do anyway): a change or field main's plan already
    holds (drift to revert, an unapplied commit) is not the proposal's and does not raise its risk."""
    if main_plan is None:
        return plan, []
    on_main = {c.resource: c for c in main_plan.actionable}
    own: list[Change] = []
    pending: list[dict[str, Any]] = []
    for change in plan.changes:
        theirs = on_main.get(change.resource)
        if change.op is Op.noop or theirs is None or theirs.op is not change.op:
            own.append(change)
            continue
        main_fields = {_field_key(f) for f in theirs.fields}
        mine = [f for f in change.fields if _field_key(f) not in main_fields]
        shared = [f.path for f in change.fields if _field_key(f) in main_fields]
        if not mine and (change.fields or change.op is not Op.update):
            pending.append({"resource": change.resource, "op": change.op.value, "fields": shared,
                            "drift": change.drift, "risk": change.risk.value})
            continue
        if shared and change.op is Op.update:
            pending.append({"resource": change.resource, "op": change.op.value, "fields": shared,
                            "drift": change.drift, "risk": max((f.risk for f in change.fields
                                                                if f.path in shared), key=lambda r: r.rank,
                                                               default=change.risk).value})
            risk = max((f.risk for f in mine), key=lambda r: r.rank, default=change.risk)
            change = change.model_copy(update={"fields": mine, "risk": risk})
        own.append(change)
    return plan.model_copy(update={"changes": own}), pending


def plan_preview(plan: Plan, pending: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A compact, JSON-ready preview: counts, risk and the actionable changes (no-ops only counted)."""
    return {
        "revision": plan.revision,
        "risk": plan.risk.value,
        "counts": plan.counts(),
        "changes": [c.model_dump(mode="json", exclude={"desired"}) for c in plan.actionable],
        "warnings": list(plan.warnings),
        "unmanaged": len(plan.unmanaged),
        **({"also_pending_on_main": pending} if pending else {}),
    }


def rendered_diff(session: LabSession, base: DesiredState | None, head: DesiredState, plan: Plan) -> str:
    """Unified diff of the rendered artifacts of every resource the plan changes, base -> proposal."""
    from reconciler.phases.render import render_all

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
