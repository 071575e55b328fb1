"""The application layer on a real sim lab: queries, commands and the error codes every door maps."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.models.plan import BlockKind, Change, Mode, Op
from reconciler.proposals.create import ProposalDraft
from reconciler.service import Conflict, ErrorCode, Invalid, LabService, NotFound, ServiceError, commands, queries
from reconciler.service.errors import (
    ErrorBody,
    agent_message,
    as_service_error,
    exit_code,
    http_status,
)
from reconciler.source.errors import DesiredStateError, GitSourceError, SourceIssue
from reconciler.store.locks import LabBusyError
from tests.foundation.labkit import new_mini_lab, resource


@pytest.fixture
def lab(tmp_path: Path) -> LabService:
    service = LabService.open(new_mini_lab(tmp_path), actor="test:svc", actor_kind="human")
    yield service  # type: ignore[misc]
    service.close()


def test_plan_apply_then_status_instances_runs_audit(lab: LabService) -> None:
    report = commands.plan(lab)
    assert report.on_main and report.ref == "main" and len(report.revision) == 40
    assert {c.resource: c.op for c in report.plan.changes} == {"a": Op.create, "b": Op.create}
    run = commands.apply(lab, trigger="test")
    assert run.status == "ok" and run.succeeded
    assert sorted((o.resource, o.op, o.status) for o in run.outcomes) == [("a", "create", "applied"),
                                                                          ("b", "create", "applied")]
    status = queries.status(lab)
    assert status.lab == "mini"
    assert {i.name: i.matches for i in status.live} == {"a": True, "b": True}
    assert status.deviations == [] and status.runs[0].id == run.run_id
    assert status.runs[0].counts_text() == "2 applied"
    assert queries.instance(lab, "a").provider == "lab"
    by_id = queries.instance(lab, queries.instance(lab, "b").provider_id or "")
    assert by_id.name == "b"
    assert [r.id for r in queries.runs(lab)] == [run.run_id]
    actions = [(e.action, e.entity) for e in queries.audit(lab, resource="a")]
    assert ("create", "a") in actions
    assert queries.verify_audit(lab).ok
    assert commands.plan(lab).plan.has_changes is False


def test_declared_kinds_come_from_git(lab: LabService) -> None:
    assert [p.metadata.name for p in queries.pools(lab)] == ["compute"]
    assert queries.templates(lab) == []
    assert [r.name for r in queries.resources(lab)] == ["a", "b"]
    assert queries.resource(lab, "a").requirements.cpu == 2
    with pytest.raises(NotFound, match="no resource 'zzz'"):
        queries.resource(lab, "zzz")


def test_instance_lookup_says_when_declared_but_not_applied(lab: LabService) -> None:
    with pytest.raises(NotFound, match="declared in Git but not applied yet") as caught:
        queries.instance(lab, "a")
    assert caught.value.code is ErrorCode.not_found
    with pytest.raises(NotFound, match="list managed resources"):
        queries.instance(lab, "nothing-like-it")


def test_proposal_approve_reject_and_their_conflicts(lab: LabService) -> None:
    draft = ProposalDraft(title="Add c", edits={"resources/c.yaml": resource("c").encode()})
    opened = commands.propose(lab, draft, author="agent:t", author_kind="agent")
    # the preview holds only what the proposal changes; a and b, not yet applied on main, are listed apart
    assert opened.status == "open" and opened.plan["counts"]["create"] == 1
    assert sorted(p["resource"] for p in opened.plan["also_pending_on_main"]) == ["a", "b"]
    assert [p.id for p in queries.proposals(lab, status="open")] == [opened.id]
    merged = commands.approve(lab, opened.id, reviewer="person", reviewer_kind="human")
    assert merged.proposal.status == "merged" and len(merged.merged_commit) == 40
    assert "c" in {r.name for r in queries.resources(lab)}  # main's state follows the merge
    with pytest.raises(Conflict, match="not open"):
        commands.approve(lab, opened.id)
    second = commands.propose(lab, ProposalDraft(title="Add d", edits={"resources/d.yaml": resource("d").encode()}))
    assert commands.reject(lab, second.id, reason="not now").status == "rejected"
    with pytest.raises(NotFound, match="no proposal 'nope'"):
        queries.proposal(lab, "nope")
    with pytest.raises(Invalid, match="unknown proposal status"):
        queries.proposals(lab, status="pending")
    with pytest.raises(Invalid, match="changes nothing"):
        commands.propose(lab, ProposalDraft(title="Same", edits={"resources/a.yaml": resource("a").encode()}))


def test_tokens_create_list_authenticate_revoke(lab: LabService) -> None:
    created = commands.create_token(lab, name="agent", scopes="read,propose", owner="me")
    assert created.secret.startswith("hpt_") and created.token.scopes == ["read", "propose"]
    listed = queries.tokens(lab)
    assert [t.name for t in listed] == ["agent"] and listed[0].active
    assert "secret" not in listed[0].model_dump() and created.secret not in listed[0].model_dump_json()
    who = commands.authenticate_token(lab, created.secret)
    assert who is not None and who.id == created.token.id
    assert commands.revoke_token(lab, "agent") == 1
    assert commands.authenticate_token(lab, created.secret) is None
    with pytest.raises(NotFound, match="no active token 'agent'"):
        commands.revoke_token(lab, "agent")
    with pytest.raises(Invalid, match="unknown scope"):
        commands.create_token(lab, name="x", scopes="root")


def test_snapshot_is_stored_and_read_back(lab: LabService) -> None:
    commands.apply(lab)
    made = commands.snapshot(lab, name="before")
    assert made.resources_desired == 2 and made.resources_observed == 2 and made.providers_unavailable == []
    assert [s.name for s in queries.snapshots(lab)] == ["before"]
    read = queries.snapshot(lab, made.id[:8])
    assert read.data is not None and read.revision == made.revision
    with pytest.raises(NotFound):
        queries.snapshot(lab, "ffffffff")


def test_resolve_drift_without_drift_is_invalid(lab: LabService) -> None:
    commands.apply(lab)
    with pytest.raises(Invalid, match="no open drift"):
        commands.resolve_drift(lab, "a", "adopt")
    with pytest.raises(Invalid, match="'adopt' or 'revert'"):
        commands.resolve_drift(lab, "a", "ignore")  # type: ignore[arg-type]


def test_run_lock_held_by_another_run_skips_the_run(lab: LabService) -> None:
    with lab.run_lock():
        run = commands.apply(lab, mode=Mode.auto, trigger="test")
    assert run.status == "skipped" and "in progress" in (run.error or "")


def test_ref_that_does_not_exist_is_invalid(lab: LabService) -> None:
    with pytest.raises(Invalid, match="no commit 'nope'") as caught:
        commands.plan(lab, ref="nope")
    assert http_status(caught.value) == 422 and exit_code(caught.value) == 1


@pytest.mark.parametrize(("engine", "code", "status"), [
    (LookupError("no such thing"), ErrorCode.not_found, 404),
    (KeyError("missing"), ErrorCode.not_found, 404),
    (LabBusyError("mini", "lock file"), ErrorCode.conflict, 409),
    (DesiredStateError([SourceIssue(file="a.yaml", message="bad", line=3)]), ErrorCode.invalid, 422),
    (GitSourceError("no commit"), ErrorCode.invalid, 422),
    (PermissionError("read scope only"), ErrorCode.forbidden, 403),
    (ValueError("bad value"), ErrorCode.invalid, 422),
])
def test_engine_errors_map_to_stable_codes(engine: Exception, code: ErrorCode, status: int) -> None:
    mapped = as_service_error(engine)
    assert mapped is not None and mapped.code is code and http_status(mapped) == status
    assert ErrorBody.model_validate(mapped.body().model_dump(mode="json")).code is code
    if isinstance(engine, KeyError):
        assert mapped.message == "missing"  # not "'missing'"


def test_a_bug_is_not_turned_into_a_user_error() -> None:
    assert as_service_error(RuntimeError("bug")) is None
    assert as_service_error(AttributeError("bug")) is None


def test_agent_message_carries_the_hint() -> None:
    err: ServiceError = NotFound("no proposal 'x'", hint="call list-proposals")
    assert agent_message(err) == "no proposal 'x' (call list-proposals)"


def test_block_reason_is_typed_and_reads_old_plans() -> None:
    change = Change(op=Op.create, resource="a", provider="lab", provider_type="sim", reason="new")
    assert change.blocked is None
    change.hold(BlockKind.window, "outside every sync window")
    assert change.blocked == "outside every sync window" and change.block is not None
    dumped = change.model_dump(mode="json")
    assert dumped["blocked"] == "outside every sync window" and dumped["block"]["kind"] == "window"
    again = Change.model_validate(dumped)
    assert again.block == change.block
    old = Change.model_validate({"op": "create", "resource": "a", "provider": "lab", "provider_type": "sim",
                                 "reason": "new", "blocked": "no capacity: no node has room"})
    assert old.block is not None and old.block.kind is BlockKind.capacity
