"""The one message per run (pure): which events, what it says, and when two runs say the same thing."""

from __future__ import annotations

from reconciler.daemon.notifications import DeviationNote, run_message
from reconciler.models.plan import ApplyStatus, Change, Op, RunStatus
from reconciler.models.plan import ErrorKind as Kind
from reconciler.phases.apply import ApplyOutcome
from reconciler.phases.run import RunResult
from reconciler.service.views import RunReport

APPLIED, FAILED = ApplyStatus.applied, ApplyStatus.failed


def _change(name: str, op: Op = Op.create) -> Change:
    return Change(op=op, resource=name, provider="lab", provider_type="sim", reason="test")


def _run(status: str, *outcomes: ApplyOutcome, revision: str = "a" * 40, error: str | None = None) -> RunReport:
    result = RunResult(run_id="r1", status=RunStatus(status), revision=revision, outcomes=list(outcomes), error=error)
    return RunReport.from_result(result)


def test_quiet_run_says_nothing() -> None:
    assert run_message("home", _run("ok"), []) is None


def test_events_title_and_body() -> None:
    result = _run("partial", ApplyOutcome(_change("vm-0"), APPLIED, "vm-0 created"),
                  ApplyOutcome(_change("vm-1", Op.update), FAILED, "sim: boom", error_kind=Kind.permanent))
    message = run_message("home", result, [DeviationNote("vm-2", "cpu", 1, 4)])
    assert message is not None
    assert message.events == ["failure", "deviation", "applied"]
    assert message.title == "homeport home: 1 failed, 1 drifted, 1 applied at aaaaaaaaaaaa"
    assert message.body.splitlines() == ["failed: vm-1 (update): sim: boom",
                                         "drift: vm-2 cpu: declared 1, live 4",
                                         "applied: vm-0 (create): vm-0 created"]


def test_unreachable_repository_and_invalid_commit_are_failures() -> None:
    message = run_message("home", _run("ok"), [], extra_error="cannot reach https://git.lan/lab.git")
    assert message is not None and message.events == ["failure"]
    assert message.failed == [{"resource": "(repository)", "op": "fetch",
                               "error": "cannot reach https://git.lan/lab.git"}]
    invalid = run_message("home", _run("invalid", error="resources/a.yaml:3: bad"), [])
    assert invalid is not None and invalid.failed[0]["resource"] == "(run)"


def test_same_failure_same_key_new_applies_new_key() -> None:
    failed = ApplyOutcome(_change("vm-1"), FAILED, "sim: boom", error_kind=Kind.permanent)
    first = run_message("home", _run("failed", failed, revision="a" * 40), [])
    again = run_message("home", _run("failed", failed, revision="b" * 40), [])
    assert first is not None and again is not None and first.dedup_key == again.dedup_key
    applied = run_message("home", _run("ok", ApplyOutcome(_change("vm-0"), APPLIED, "ok"), revision="a" * 40), [])
    later = run_message("home", _run("ok", ApplyOutcome(_change("vm-0"), APPLIED, "ok"), revision="c" * 40), [])
    assert applied is not None and later is not None and applied.dedup_key != later.dedup_key
