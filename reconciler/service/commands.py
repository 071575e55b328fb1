"""Commands on a lab: plan, apply, propose, review, resolve drift, snapshot, tokens, audit.

Every function takes an open `LabService` and returns pydantic views, raising `ServiceError`s with
stable codes. Who acts is the service's actor unless a function takes an explicit actor (the MCP door
acts for the calling token, not for itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from reconciler.models.plan import Mode, Plan
from reconciler.phases.run import compute_plan, indexed_plan, reconcile
from reconciler.phases.snapshot import take_snapshot
from reconciler.proposals.create import ProposalDraft
from reconciler.proposals.create import propose as create_proposal
from reconciler.proposals.records import ProposalView, get_proposal
from reconciler.proposals.review import approve as merge_proposal
from reconciler.proposals.review import merge_if_policy_allows
from reconciler.proposals.review import reject as close_proposal
from reconciler.service.errors import Invalid, NotFound, engine_errors
from reconciler.service.lab import LabService, local_user
from reconciler.service.views import (
    ApproveResult,
    CreatedToken,
    PlanReport,
    RunReport,
    SnapshotCreated,
    TokenView,
)
from reconciler.store.audit import append_audit
from reconciler.store.tables import GeneratedTemplateRow, new_id
from reconciler.store.tokens import SCOPES, verify_token
from reconciler.store.tokens import create_token as store_create_token
from reconciler.store.tokens import parse_scopes as store_parse_scopes
from reconciler.store.tokens import revoke_token as store_revoke_token

__all__ = [
    "SCOPES",
    "ProposalDraft",
    "apply",
    "approve",
    "authenticate_token",
    "create_token",
    "parse_scopes",
    "plan",
    "propose",
    "record_audit",
    "record_generated_template",
    "reject",
    "resolve_drift",
    "revoke_token",
    "snapshot",
]


def plan(lab: LabService, *, ref: str | None = None, mode: Mode = Mode.manual,
         provider_previews: bool = False, full: bool = False) -> PlanReport:
    """What applying would change (read only). mode=auto gates as the daemon would (policy, windows, risk).

    Main's plan is answered from the no-op index when nothing changed since the last converged run (the
    report's skipped_by_index says so); full=True always loads, renders, observes and diffs."""
    note = "full plan asked for (--full)" if full else "a plan of an explicit ref does not use the index"
    fast = None
    with engine_errors():
        if not full and ref is None:
            fast = indexed_plan(lab.session)
            if fast.plan is not None and fast.revision is not None:
                return PlanReport(ref=fast.revision.ref, revision=fast.revision.id, on_main=True, plan=fast.plan,
                                  unavailable=dict(fast.unavailable), timings=fast.timings,
                                  skipped_by_index=fast.skipped, index_note=fast.why)
            note = fast.why
        result = compute_plan(lab.session, ref=ref, mode=mode, provider_previews=provider_previews,
                              prints=fast.prints if fast is not None else None, fast=fast)
    return PlanReport(ref=result.revision.ref, revision=result.revision.id, on_main=result.revision.on_main,
                      plan=result.plan, unavailable=dict(result.observation.unavailable), timings=result.timings,
                      skipped_by_index=result.skipped_by_index, index_note=note)


def apply(lab: LabService, *, mode: Mode = Mode.manual, trigger: str = "manual", ref: str | None = None,
          approve: Callable[[Plan], bool] | None = None, lock_timeout: float = 0.0, full: bool = False) -> RunReport:
    """One reconcile run under the lab's run lock; every outcome (refusals and skips too) is recorded.

    approve: asked with the plan before anything changes (a person at a terminal); False declines the run.
    A run that finds another run holding the lock is recorded as `skipped`, not raised; with lock_timeout > 0
    it tries again (once a second) until the lock is free or the time is up.
    full: never answer from the no-op index (load, render, observe and diff every resource).
    """
    deadline = time.monotonic() + lock_timeout
    with engine_errors():
        result = reconcile(lab.session, mode=mode, trigger=trigger, ref=ref, approve=approve, full=full)
        while result.status == "skipped" and time.monotonic() < deadline:
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
            result = reconcile(lab.session, mode=mode, trigger=trigger, ref=ref, approve=approve, full=full)
        return RunReport.from_result(result)


def propose(lab: LabService, draft: ProposalDraft, *, author: str | None = None, author_kind: str | None = None,
            auto_merge: bool = True) -> ProposalView:
    """Commit draft's edits on a new proposal branch with its plan preview; merge at once when the lab's
    `proposals.auto_merge_max_risk` covers its risk (auto_merge=False never merges)."""
    state = lab.state()
    with engine_errors():
        proposal = create_proposal(lab.session, draft, author=author, author_kind=author_kind,
                                   observation=lab.recent_observation(state), memo=lab.preview_memo,
                                   base_state=state)
        if auto_merge:
            policy = state.lab.spec.proposals.auto_merge_max_risk
            if merge_if_policy_allows(lab.session, proposal, policy) is not None:
                return get_proposal(lab.session.db, proposal.id)
    return proposal


def approve(lab: LabService, proposal_id: str, *, reviewer: str | None = None,
            reviewer_kind: str | None = None) -> ApproveResult:
    """Merge an open proposal into main (fast-forward or merge commit, or on the forge); Conflict when it cannot."""
    with engine_errors():
        return ApproveResult.from_merge(merge_proposal(lab.session, proposal_id, reviewer=reviewer,
                                                       reviewer_kind=reviewer_kind))


def reject(lab: LabService, proposal_id: str, *, reviewer: str | None = None, reviewer_kind: str | None = None,
           reason: str | None = None) -> ProposalView:
    """Close an open proposal without merging (its branch is kept for the record)."""
    with engine_errors():
        return close_proposal(lab.session, proposal_id, reviewer=reviewer, reviewer_kind=reviewer_kind,
                              reason=reason)


def resolve_drift(lab: LabService, resource: str, how: Literal["adopt", "revert"], *, author: str | None = None,
                  author_kind: str | None = None) -> ProposalView:
    """A proposal resolving one resource's open drift: adopt the live values into Git, or revert to Git."""
    if how not in ("adopt", "revert"):
        raise Invalid(f"resolve drift by 'adopt' or 'revert', not {how!r}")
    with engine_errors():
        from reconciler.proposals.drift import propose_drift  # ruamel.yaml: loaded only to write a drift proposal

        return propose_drift(lab.session, resource, how, author=author, author_kind=author_kind)


def snapshot(lab: LabService, *, name: str | None = None, snapshot_type: str = "manual", notes: str | None = None,
             created_by: str | None = None, node: str | None = None, include_fields: bool = True,
             include_network: bool = True) -> SnapshotCreated:
    """Observe every enabled provider and store the one snapshot document with the desired state at main
    (secrets redacted), whichever door asks. node: only managed resources on that node in the per-resource
    digest; include_fields / include_network: observed fields and declared network of each resource."""
    with engine_errors():
        return SnapshotCreated.from_summary(take_snapshot(
            lab.session, name=name, snapshot_type=snapshot_type, notes=notes, created_by=created_by, node=node,
            include_fields=include_fields, include_network=include_network))


def parse_scopes(text: str | list[str]) -> tuple[str, ...]:
    """'read,propose' -> ('read', 'propose'); Invalid names unknown scopes."""
    with engine_errors():
        return store_parse_scopes(text)


def create_token(lab: LabService, *, name: str, scopes: str | list[str] | tuple[str, ...],
                 owner: str | None = None, expires_in_days: int | None = None) -> CreatedToken:
    """A new API token; its secret is in the result once and stored only as a hash."""
    parsed = parse_scopes(list(scopes) if isinstance(scopes, tuple) else scopes)
    lab_name = lab.lab_name_or_folder()
    with engine_errors():
        secret, info = store_create_token(lab.session.db, lab_name, name=name, owner=owner or local_user(),
                                          scopes=parsed, expires_in_days=expires_in_days)
    return CreatedToken(secret=secret, token=TokenView.from_info(info))


def revoke_token(lab: LabService, token: str) -> int:
    """Revoke active tokens by id or name (main need not be valid); NotFound when none matched."""
    lab_name = lab.lab_name_or_folder()
    with engine_errors():
        count = store_revoke_token(lab.session.db, lab_name, token)
    if not count:
        raise NotFound(f"no active token {token!r}; see `homeport token list`")
    return count


def authenticate_token(lab: LabService, secret: str, *, touch: bool = True) -> TokenView | None:
    """The record of a valid (known, unrevoked, unexpired) token, else None; last use kept to the minute."""
    with engine_errors():
        info = verify_token(lab.session.db, secret, lab=lab.lab_name_or_folder(), touch=touch)
    return TokenView.from_info(info) if info is not None else None


def record_generated_template(lab: LabService, *, template_name: str, source_instance_id: str | None,
                              confidence: float, learned: dict[str, Any], config: dict[str, Any],
                              proposal_id: str | None) -> str:
    """Record a template learned from a running instance (generated_templates); its id."""
    template_id = new_id()
    with engine_errors(), lab.session.db.session() as s:
        s.add(GeneratedTemplateRow(id=template_id, lab=lab.lab_name, source_instance_id=source_instance_id,
                                   template_name=template_name, confidence_score=confidence,
                                   learned_optimizations=learned, template_config=config, proposal_id=proposal_id))
    return template_id


def record_audit(lab: LabService, *, entity_type: str, entity_id: str, action: str, actor: str | None = None,
                 actor_kind: str | None = None, tool: str | None = None, arguments: dict[str, Any] | None = None,
                 result: dict[str, Any] | None = None, outcome: str = "ok", proposal_id: str | None = None,
                 run_id: str | None = None, duration_ms: float | None = None, lab_name: str | None = None) -> None:
    """Append one row to the lab's audit log (arguments and results redacted; hash-chained)."""
    name = lab_name or lab.lab_name_or_folder()
    with engine_errors(), lab.session.db.session() as s:
        append_audit(s, lab=name, entity_type=entity_type, entity_id=entity_id, action=action,
                     actor=actor or lab.actor, actor_kind=actor_kind or lab.actor_kind, tool=tool,
                     arguments=arguments, result=result, outcome=outcome, run_id=run_id, proposal_id=proposal_id,
                     duration_ms=duration_ms)
