"""A whole run: fetch -> load -> render -> observe -> diff -> gate -> apply -> prune -> record."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.models.desired import DesiredState
from reconciler.models.plan import ApplyStatus, BlockKind, Change, Mode, Op, Plan, RunStatus
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import Revision, fetch
from reconciler.phases.load import load, load_main_revision
from reconciler.phases.noop_index import FastCheck, Reuse, main_revision_light, remember, reuse
from reconciler.phases.noop_index import check as fast_check
from reconciler.phases.observe import Observation, observe_all
from reconciler.providers.base import ObservationPrint
from reconciler.source.errors import DesiredStateError, GitSourceError
from reconciler.store.audit import append_audit
from reconciler.store.instances import InstanceSnapshot, load_instances, retry_after
from reconciler.store.locks import LabBusyError, lab_lock
from reconciler.store.noop_index import invalidate, mark_checked
from reconciler.store.runs import close_interrupted_runs, finish_run, last_finished_run, start_run
from reconciler.store.tables import ReconcileRunRow

if TYPE_CHECKING:  # the phases past observe are imported where they run: a run answered from the no-op index
    # never loads the renderer (Jinja2, jsonschema), the planner or the apply machinery
    from reconciler.phases.apply import ApplyOutcome
    from reconciler.phases.gate import PruneFacts
    from reconciler.phases.render import RenderSet

_log = logging.getLogger(__name__)


class PlanError(Exception):
    """The plan cannot be computed (invalid desired state, charts that fail); the message lists why."""


@dataclass
class PlanResult:
    """Everything computed up to the gate."""

    revision: Revision
    state: DesiredState
    renders: RenderSet
    observation: Observation
    instances: dict[str, InstanceSnapshot]
    plan: Plan
    timings: dict[str, float] = field(default_factory=dict)
    skipped_by_index: int = 0  # resources whose no-op came from the no-op index (not rendered, not diffed)


@contextmanager
def _timed(timings: dict[str, float], phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - started


def compute_plan(
    session: LabSession,
    *,
    ref: str | None = None,
    mode: Mode = Mode.manual,
    timings: dict[str, float] | None = None,
    provider_previews: bool = False,
    prints: dict[str, ObservationPrint] | None = None,
    fast: FastCheck | None = None,
) -> PlanResult:
    """Phases fetch to gate; raises DesiredStateError, GitSourceError or PlanError with clear messages.

    prints: fingerprint the observation for the no-op index (reusing prints already taken).
    fast: the no-op index's check at the start of this run: resources whose inputs are as indexed are not
    rendered, and those whose observation is as indexed too are not diffed (their no-op comes from the index)."""
    from reconciler.phases.diff import plan_lab
    from reconciler.phases.gate import gate
    from reconciler.phases.preflight import preflight
    from reconciler.phases.render import render_all
    from reconciler.phases.rollback_approval import approved_rollback

    timings = {} if timings is None else timings
    with _timed(timings, "load"):
        if ref is None:
            revision, state = load_main_revision(session)
        else:
            revision = fetch(session, ref)
            state = load(session, revision)
    reused = reuse(session, state, revision, fast) if fast is not None and ref is None else Reuse()
    with _timed(timings, "render"):
        todo = set(state.effective) - reused.unchanged_inputs if reused.unchanged_inputs else None
        renders = render_all(session, state, names=todo)
    if renders.errors:
        raise PlanError("rendering failed:\n" + "\n".join(f"  {e}" for e in renders.errors))
    with _timed(timings, "observe"):
        observation = observe_all(session, state, prints=prints)
        instances = load_instances(session.db, state.lab_name)
    with _timed(timings, "diff"):
        unchanged = reused.unchanged(observation) if reused.unchanged_inputs else {}
        plan = plan_lab(session, state, observation, instances, unchanged)
    with _timed(timings, "gate"):
        facts = _prune_facts(state, observation, instances)
        gate(plan, state, mode=mode, now=session.clock(), prune=facts, backoff=retry_after(instances),
             approved_rollback=approved_rollback(session.db, state.lab_name, state.revision))
    with _timed(timings, "preflight"):
        preflight(session, state, plan)
    if provider_previews:
        from reconciler.phases.preview import preview_changes

        with _timed(timings, "preview"):
            preview_changes(session, state, plan)
    return PlanResult(revision, state, renders, observation, instances, plan, timings,
                      skipped_by_index=len(unchanged))


def _prune_facts(state: DesiredState, observation: Observation, instances: dict[str, InstanceSnapshot]) -> PruneFacts:
    """Prune guards' facts from the instance rows already loaded for the diff (no further query)."""
    from reconciler.phases.gate import PruneFacts

    stateful: set[str] = set()
    allowed: set[str] = set()
    prune_override: dict[str, bool] = {}
    for name, snap in instances.items():
        params = snap.parameters or {}
        if params.get("stateful"):
            stateful.add(name)
        if params.get("allow_delete_stateful"):
            allowed.add(name)
        if isinstance(params.get("prune"), bool):
            prune_override[name] = params["prune"]
    owned = sum(len(inv.owned(state.lab_name)) for inv in observation.inventories.values())
    return PruneFacts(
        owned_total=owned,
        stateful=frozenset(stateful),
        allow_delete_stateful=frozenset(allowed),
        prune_override=prune_override,
    )


def held_back_not_by_policy(plan: Plan, mode: Mode) -> list[Change]:
    """Changes held back that make a run partial: any, for a person's apply; for the daemon, those no policy
    chose to hold (no capacity, a failed preflight), since waiting for a window or for approval is its job."""
    if mode is Mode.manual:
        return plan.held_back
    kinds = (BlockKind.capacity, BlockKind.preflight)
    return [c for c in plan.held_back if c.block is not None and c.block.kind in kinds]


@dataclass
class RunResult:
    """The outcome of one reconcile run."""

    run_id: str | None
    status: RunStatus
    revision: str | None
    plan: Plan | None = None
    outcomes: list[ApplyOutcome] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    skipped_by_index: int = 0  # resources planned from the no-op index (not rendered or diffed; with no
    #                            load phase timed, the whole run was answered from it)
    index_note: str = ""  # why the no-op index was used or not


def reconcile(
    session: LabSession,
    *,
    mode: Mode,
    trigger: str = "manual",
    ref: str | None = None,
    approve: Callable[[Plan], bool] | None = None,
    full: bool = False,
) -> RunResult:
    """One run under the lab's lock; every outcome, including refusals, is recorded.

    full: never answer from the no-op index (phases/noop_index.py); load, render, observe and diff everything."""
    lab = _lab_name(session)
    try:
        with lab_lock(session.db, lab, lock_dir=session.state_dir / "locks"):
            return _run_locked(session, lab, mode=mode, trigger=trigger, ref=ref, approve=approve, full=full)
    except LabBusyError as exc:
        run_id = start_run(session.db, lab, revision=None, trigger=trigger, mode=mode.value)
        finish_run(session.db, run_id, status=RunStatus.skipped, revision=None, phase_timings={}, summary={},
                   error=str(exc))
        _audit_run(session, lab, run_id, trigger, action="run-skipped", outcome="skipped", result={"reason": str(exc)})
        return RunResult(run_id, RunStatus.skipped, None, error=str(exc))


def _audit_run(
    session: LabSession, lab: str, run_id: str, trigger: str, *, action: str, outcome: str, result: dict[str, Any]
) -> None:
    """One lab-level audit row about a whole run (skipped, invalid)."""
    with session.db.session() as s:
        append_audit(
            s,
            lab=lab,
            entity_type="lab",
            entity_id=lab,
            action=action,
            actor=session.actor,
            actor_kind=session.actor_kind,
            tool="reconcile",
            run_id=run_id,
            outcome=outcome,
            arguments={"trigger": trigger},
            result=result,
        )


def _lab_name(session: LabSession) -> str:
    """The lab's name for locking: read from main's homeport.yaml when possible, else the folder name."""
    try:
        light = main_revision_light(session)  # homeport.yaml alone: the other files are loaded only if needed
        if light is not None:
            return light[1].metadata.name
    except Exception:
        pass
    try:
        return load_main_revision(session)[1].lab_name
    except Exception:  # an invalid lab still gets a lock name; the run then records why it is invalid
        return session.lab_dir.name


def _run_locked(
    session: LabSession,
    lab: str,
    *,
    mode: Mode,
    trigger: str,
    ref: str | None,
    approve: Callable[[Plan], bool] | None,
    full: bool = False,
) -> RunResult:
    timings: dict[str, float] = {}
    # We hold the lab's lock, so a run still marked running was killed before it could finish.
    close_interrupted_runs(session.db, lab)
    previous = last_finished_run(session.db, lab)
    run_id = start_run(session.db, lab, revision=None, trigger=trigger, mode=mode.value)
    try:
        return _run_started(
            session, lab, run_id, previous, timings, mode=mode, trigger=trigger, ref=ref, approve=approve, full=full
        )
    except Exception as exc:  # a run never stays running: any failure closes it; intents stay for the next run
        error = describe_failure(exc)
        _log.debug("run %s failed", run_id, exc_info=True)
        finish_run(session.db, run_id, status=RunStatus.failed, revision=None, phase_timings=timings, summary={},
                   error=error)
        _audit_run(session, lab, run_id, trigger, action="run-failed", outcome="error", result={"error": error})
        return RunResult(run_id, RunStatus.failed, None, error=error, timings=timings)


def _held_back(outcomes: list[ApplyOutcome]) -> list[ApplyOutcome]:
    """The outcomes of changes that ran; a change the executor held back (a dependency failed or waits in
    this run) gets its block reason on the plan, where the record phase and the summary read it."""
    ran = []
    for outcome in outcomes:
        if outcome.status is ApplyStatus.skipped and outcome.block is not None:
            outcome.change.hold(outcome.block.kind, outcome.block.message)
        else:
            ran.append(outcome)
    return ran


def describe_failure(exc: BaseException) -> str:
    """An unexpected error as one line: its type, message and the innermost homeport frame (no traceback)."""
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        package = next((p for p in ("/reconciler/", "/mcp_server/") if p in frame.filename), None)
        if package is not None:
            where = f" (at {package[1:]}{frame.filename.rsplit(package, 1)[1]}:{frame.lineno})"
            break
    return f"{type(exc).__name__}: {exc}"[:3900] + where


def _run_started(
    session: LabSession,
    lab: str,
    run_id: str,
    previous: ReconcileRunRow | None,
    timings: dict[str, float],
    *,
    mode: Mode,
    trigger: str,
    ref: str | None,
    approve: Callable[[Plan], bool] | None,
    full: bool = False,
) -> RunResult:
    with _timed(timings, "index"):
        fast = _fast_check(session, lab, ref=ref, full=full)
        if fast.plan is None:
            invalidate(session.db, lab)  # a full run starts: whatever it does, the old index no longer vouches
    if fast.plan is not None and fast.revision is not None:
        return _finish_fast(session, lab, run_id, fast, fast.revision, fast.plan, timings)
    try:
        result = compute_plan(session, ref=ref, mode=mode, timings=timings, prints=fast.prints, fast=fast)
    except (DesiredStateError, GitSourceError, PlanError) as exc:
        finish_run(
            session.db,
            run_id,
            status=RunStatus.invalid,
            revision=getattr(exc, "revision", None),
            phase_timings=timings,
            summary={},
            error=str(exc),
        )
        repeated = previous is not None and previous.status == "invalid" and previous.error == str(exc)
        if not repeated:  # the same broken commit every interval is one audit row, not thousands
            _audit_run(
                session, lab, run_id, trigger, action="run-invalid", outcome="error", result={"error": str(exc)[:4000]}
            )
        return RunResult(run_id, RunStatus.invalid, getattr(exc, "revision", None), error=str(exc), timings=timings)
    state, plan = result.state, result.plan
    if not result.revision.on_main:
        refusal = (
            f"{result.revision.ref} is not on the {state.lab.spec.main_branch} branch: only merged commits are "
            "applied (approve the proposal to merge it)"
        )
        finish_run(
            session.db,
            run_id,
            status=RunStatus.invalid,
            revision=state.revision,
            phase_timings=timings,
            summary={},
            error=refusal,
        )
        return RunResult(run_id, RunStatus.invalid, state.revision, plan=plan, error=refusal, timings=timings)
    from reconciler.phases.apply import apply_changes, resume_intents
    from reconciler.phases.prune import prune
    from reconciler.phases.record import index_desired_state, record_results

    notes = resume_intents(session, state)
    if approve is not None and plan.has_changes and not approve(plan):
        finish_run(
            session.db, run_id, status=RunStatus.declined, revision=state.revision, phase_timings=timings,
            summary=plan.counts()
        )
        return RunResult(run_id, RunStatus.declined, state.revision, plan=plan, timings=timings)
    outcomes: list[ApplyOutcome] = []
    started = time.perf_counter()
    outcomes.extend(_held_back(apply_changes(session, state, plan, run_id)))
    timings["apply"] = time.perf_counter() - started
    started = time.perf_counter()
    outcomes.extend(_held_back(prune(session, state, plan, run_id)))
    timings["prune"] = time.perf_counter() - started
    started = time.perf_counter()
    counts = record_results(
        session, state, plan, outcomes, result.observation.inventories, run_id, session.clock(), result.instances
    )
    index_desired_state(session, state)
    timings["record"] = time.perf_counter() - started
    failed = [o for o in outcomes if o.status is ApplyStatus.failed]
    status = RunStatus.ok if not failed else (RunStatus.failed if len(failed) == len(outcomes) else RunStatus.partial)
    if result.observation.unavailable and any(
        c.blocked and c.op is Op.noop and c.resource in state.effective and state.lab.spec.providers[c.provider].enabled
        for c in plan.changes
    ):
        status = RunStatus.partial if status is RunStatus.ok else status
    if status is RunStatus.ok and held_back_not_by_policy(plan, mode):
        status = RunStatus.partial  # held back is not success: something the plan shows was not applied
    summary: dict[str, Any] = {**plan.counts(), **counts, "unavailable": sorted(result.observation.unavailable),
                               "skipped_by_index": result.skipped_by_index}
    failures = "; ".join(f"{o.change.resource}: {o.message}" for o in failed)[:4000]
    error = failures or None
    if ref is None and status in (RunStatus.ok, RunStatus.partial) and not failed:
        with _timed(timings, "index"):
            remember(session, state, result.revision, plan, result.observation, run_id)
    finish_run(
        session.db, run_id, status=status, revision=state.revision, phase_timings=timings, summary=summary, error=error
    )
    return RunResult(
        run_id,
        status,
        state.revision,
        plan=plan,
        outcomes=outcomes,
        counts=counts,
        timings=timings,
        error=error,
        notes=notes,
        skipped_by_index=result.skipped_by_index,
        index_note=fast.why,
    )


def _fast_check(session: LabSession, lab: str, *, ref: str | None, full: bool) -> FastCheck:
    """The no-op index's answer for this run (only runs of main's tip may use it)."""
    if full:
        return FastCheck("full run asked for (--full)")
    if ref is not None:
        return FastCheck("a run of an explicit ref does not use the index")
    return fast_check(session, lab)


def indexed_plan(session: LabSession) -> FastCheck:
    """Main's plan from the no-op index, when nothing changed since the last converged run (read only: no lock,
    nothing written); else why not."""
    started = time.perf_counter()
    try:
        light = main_revision_light(session)
    except Exception:  # the full plan explains what is wrong
        light = None
    if light is None:
        return FastCheck("main's homeport.yaml does not load on its own")
    fast = fast_check(session, light[1].metadata.name)
    fast.timings["index"] = time.perf_counter() - started
    return fast


def _finish_fast(session: LabSession, lab: str, run_id: str, fast: FastCheck, revision: Revision, plan: Plan,
                 timings: dict[str, float]) -> RunResult:
    """Record a run answered from the index: the run row and when the lab was checked (on the index row, not on
    each instance row), nothing else."""
    with _timed(timings, "record"):
        mark_checked(session.db, lab, session.clock())
    noop = sum(1 for c in plan.changes if c.block is None)  # as record_results counts: not those of disabled providers
    counts = {"applied": 0, "failed": 0, "blocked": 0, "noop": noop, "drifted": 0, "deleted": 0}
    summary: dict[str, Any] = {**plan.counts(), **counts, "unavailable": sorted(fast.unavailable),
                               "skipped_by_index": fast.skipped}
    finish_run(session.db, run_id, status=RunStatus.ok, revision=revision.id, phase_timings=timings,
               summary=summary)
    return RunResult(run_id, RunStatus.ok, revision.id, plan=plan, counts=counts, timings=timings,
                     skipped_by_index=fast.skipped, index_note=fast.why)
