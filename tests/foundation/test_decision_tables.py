"""Table tests for the decisions with no case folder of their own: the planner's choice of operation, sync
windows, risk, the gate and sizing. Each row is (input, expected); pure functions, no I/O after loading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mcp_server.advisor.sizing import advise_size
from reconciler.models.desired import DesiredState
from reconciler.models.diffrules import DiffRules
from reconciler.models.inventory import ObservedResource
from reconciler.models.lab import SyncWindow
from reconciler.models.placement import PlacementReport
from reconciler.models.plan import BlockKind, Change, FieldChange, Mode, Op, Plan, Risk
from reconciler.phases.gate import PruneFacts, gate
from reconciler.plan.planner import DesiredItem, plan_resource
from reconciler.plan.risk import change_risk, field_risk
from reconciler.plan.windows import applying_allowed
from reconciler.service import LabService
from tests.foundation.labkit import new_mini_lab, resource

NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday

# -- sync windows ---------------------------------------------------------------------------------------

WINDOW_CASES: list[tuple[str, list[SyncWindow], datetime, bool, str]] = [
    ("no windows", [], NOON, True, "no allow windows declared"),
    ("inside allow", [SyncWindow(allow="0 11 * * *", duration="2h")], NOON, True, "inside allow window"),
    ("after allow closed", [SyncWindow(allow="0 9 * * *", duration="2h")], NOON, False, "outside every allow"),
    ("allow opens at this minute", [SyncWindow(allow="0 12 * * *", duration="1h")], NOON, True, "inside allow"),
    ("allow ends exactly now", [SyncWindow(allow="0 11 * * *", duration="1h")], NOON, False, "outside every allow"),
    ("deny wins over allow", [SyncWindow(allow="0 0 * * *", duration="24h"),
                              SyncWindow(deny="0 12 * * 3", duration="1h")], NOON, False, "inside deny window"),
    ("deny on another day", [SyncWindow(deny="0 12 * * 1", duration="1h")], NOON, True, "no allow windows"),
    ("time zone moves the window", [SyncWindow(allow="0 13 * * *", duration="1h", timezone="Europe/Berlin")],
     NOON, True, "inside allow"),  # 12:00 UTC is 13:00 in Berlin in March
    ("time zone, other side", [SyncWindow(allow="0 12 * * *", duration="1h", timezone="Europe/Berlin")],
     NOON, False, "outside every allow"),
]


@pytest.mark.parametrize(("windows", "now", "allowed", "why"), [c[1:] for c in WINDOW_CASES],
                         ids=[c[0] for c in WINDOW_CASES])
def test_sync_windows(windows: list[SyncWindow], now: datetime, allowed: bool, why: str) -> None:
    got, reason = applying_allowed(windows, now)
    assert (got, why in reason) == (allowed, True), reason


# -- risk ----------------------------------------------------------------------------------------------

RULES = DiffRules(grow_only_fields=["disk_gb"], high_risk_fields=["gpu"], replace_fields=["image"])
RISK_CASES: list[tuple[str, FieldChange, Risk]] = [
    ("tag change is low", FieldChange(path="tags", old=["a"], new=["b"]), Risk.low),
    ("label change is low", FieldChange(path="labels.team", old="a", new="b"), Risk.low),
    ("growth is medium", FieldChange(path="cpu", old=2, new=4), Risk.medium),
    ("grow-only field growing is medium", FieldChange(path="disk_gb", old=10, new=20), Risk.medium),
    ("grow-only field shrinking is high", FieldChange(path="disk_gb", old=20, new=10), Risk.high),
    ("high-risk field is high", FieldChange(path="gpu", old=None, new="0000:01:00"), Risk.high),
    ("forced replacement is high", FieldChange(path="image", old="a", new="b", forces_replacement=True), Risk.high),
    ("removal is medium", FieldChange(path="cpu", old=2, new=None), Risk.medium),
]


@pytest.mark.parametrize(("change", "risk"), [c[1:] for c in RISK_CASES], ids=[c[0] for c in RISK_CASES])
def test_field_risk(change: FieldChange, risk: Risk) -> None:
    assert field_risk(change, RULES) is risk


@pytest.mark.parametrize(("op", "fields", "risk"), [
    (Op.delete, [], Risk.high),
    (Op.replace, [], Risk.high),
    (Op.create, [], Risk.medium),
    (Op.noop, [FieldChange(path="cpu", risk=Risk.high)], Risk.low),
    (Op.update, [], Risk.low),
    (Op.update, [FieldChange(path="tags", risk=Risk.low), FieldChange(path="cpu", risk=Risk.medium)], Risk.medium),
    (Op.update, [FieldChange(path="cpu", risk=Risk.medium), FieldChange(path="gpu", risk=Risk.high)], Risk.high),
], ids=["delete", "replace", "create", "noop", "update-nothing", "update-medium", "update-high"])
def test_change_risk(op: Op, fields: list[FieldChange], risk: Risk) -> None:
    assert change_risk(op, fields) is risk


# -- the planner's choice of operation -----------------------------------------------------------------


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> DesiredState:
    lab = new_mini_lab(tmp_path_factory.mktemp("tables"), {"a": resource("a"), "b": resource("b")})
    with LabService.open(lab, actor="test") as service:
        return service.state()


def _observed(name: str, node: str = "n1", **fields: Any) -> ObservedResource:
    return ObservedResource(name=name, provider="lab", kind="machine", id=f"id-{name}", node=node, owned=True,
                            lab="mini", status="running", fields=fields)


PLACED = PlacementReport(node="n1", reason="most free memory")
UNPLACED = PlacementReport(node=None, source="refused", reason="no node has 64 GiB free")
DESIRED = {"cpu": 2, "memory_gb": 4, "image": "debian"}
PLANNER_CASES: list[tuple[str, ObservedResource | None, dict[str, Any] | None, PlacementReport,
                          ObservedResource | None, Op, dict[str, Any]]] = [
    ("absent: create", None, None, PLACED, None, Op.create, {"risk": Risk.medium, "node": "n1"}),
    ("absent and nothing fits: create held for capacity", None, None, UNPLACED, None, Op.create,
     {"block": BlockKind.capacity}),
    ("same fields: noop that says why", _observed("a", **DESIRED), DESIRED, PLACED, None, Op.noop,
     {"reason": "matches", "risk": Risk.low}),
    ("changed in Git: update, not drift", _observed("a", **{**DESIRED, "cpu": 1}), {**DESIRED, "cpu": 1}, PLACED,
     None, Op.update, {"drift": False}),
    ("changed live: update that is drift", _observed("a", **{**DESIRED, "cpu": 8}), DESIRED, PLACED, None, Op.update,
     {"drift": True, "reason": "drifted"}),
    ("replace field changed: replace", _observed("a", **{**DESIRED, "image": "alpine"}), DESIRED, PLACED, None,
     Op.replace, {"risk": Risk.high}),
    ("only the old name exists: rename", None, None, PLACED, _observed("old-a", **DESIRED), Op.rename,
     {"previous_name": "old-a"}),
]


@pytest.mark.parametrize(("observed", "last", "decision", "previous", "op", "expect"),
                         [c[1:] for c in PLANNER_CASES], ids=[c[0] for c in PLANNER_CASES])
def test_planner_chooses_the_operation(state: DesiredState, observed: ObservedResource | None,
                                       last: dict[str, Any] | None, decision: PlacementReport,
                                       previous: ObservedResource | None, op: Op, expect: dict[str, Any]) -> None:
    rules = DiffRules(replace_fields=["image"])
    change = plan_resource(DesiredItem(resource=state.effective["a"], fields=DESIRED, rules=rules), observed, last,
                           decision, previous)
    assert change.op is op, change.summary()
    for key, value in expect.items():
        if key == "block":
            assert change.block is not None and change.block.kind is value
        elif key == "reason":
            assert value in change.reason
        else:
            assert getattr(change, key) == value, (key, change)


# -- the gate ------------------------------------------------------------------------------------------


def _change(op: Op, name: str = "a", risk: Risk = Risk.low, drift: bool = False) -> Change:
    return Change(op=op, resource=name, provider="lab", provider_type="sim", reason="test", risk=risk, drift=drift)


def _gated(state: DesiredState, change: Change, mode: Mode, *, reconcile: dict[str, Any] | None = None,
           prune: PruneFacts | None = None, backoff: dict[str, datetime] | None = None) -> Change:
    policy = state.lab.spec.reconcile.model_copy(update=reconcile or {})
    lab = state.lab.model_copy(update={"spec": state.lab.spec.model_copy(update={"reconcile": policy})})
    gated_state = DesiredState(revision=state.revision, lab=lab, pools=state.pools, templates=state.templates,
                               resources=state.resources, effective=state.effective, sources=state.sources,
                               pool_parents=state.pool_parents)
    plan = Plan(lab="mini", revision=state.revision, changes=[change])
    gate(plan, gated_state, mode=mode, now=NOON, prune=prune or PruneFacts(owned_total=2), backoff=backoff)
    return plan.changes[0]


GATE_CASES: list[tuple[str, Change, Mode, dict[str, Any], dict[str, Any], BlockKind | None]] = [
    ("a person applies anything", _change(Op.update, risk=Risk.high), Mode.manual, {}, {}, None),
    ("daemon, low risk, auto_apply on", _change(Op.update), Mode.auto, {"auto_apply": True}, {}, None),
    ("daemon, auto_apply off", _change(Op.update), Mode.auto, {"auto_apply": False}, {}, BlockKind.policy),
    ("daemon, risk above max_auto_risk", _change(Op.update, risk=Risk.high), Mode.auto,
     {"auto_apply": True, "max_auto_risk": Risk.medium}, {}, BlockKind.policy),
    ("daemon, paused", _change(Op.update), Mode.auto, {"auto_apply": True, "paused": True}, {}, BlockKind.policy),
    ("daemon, outside the allow window", _change(Op.update), Mode.auto,
     {"auto_apply": True, "windows": [SyncWindow(allow="0 1 * * *", duration="1h")]}, {}, BlockKind.window),
    ("daemon, drift with self_heal off", _change(Op.update, drift=True), Mode.auto,
     {"auto_apply": True, "self_heal": False}, {}, BlockKind.policy),
    ("daemon, drift with self_heal on", _change(Op.update, drift=True), Mode.auto,
     {"auto_apply": True, "self_heal": True}, {}, None),
    ("daemon, backing off a transient error", _change(Op.update), Mode.auto, {"auto_apply": True},
     {"backoff": {"a": NOON + timedelta(minutes=5)}}, BlockKind.backoff),
    ("backoff over", _change(Op.update), Mode.auto, {"auto_apply": True},
     {"backoff": {"a": NOON - timedelta(minutes=5)}}, None),
    ("delete with prune off", _change(Op.delete, risk=Risk.high), Mode.manual, {"prune": False}, {},
     BlockKind.prune),
    ("delete of a stateful resource", _change(Op.delete, risk=Risk.high), Mode.manual, {"prune": True},
     {"prune": PruneFacts(owned_total=2, stateful=frozenset({"a"}))}, BlockKind.prune),
    ("delete allowed for a stateful resource", _change(Op.delete, risk=Risk.high), Mode.manual, {"prune": True},
     {"prune": PruneFacts(owned_total=2, stateful=frozenset({"a"}), allow_delete_stateful=frozenset({"a"}))},
     None),
    ("too many deletes at once", _change(Op.delete, risk=Risk.high), Mode.manual,
     {"prune": True, "max_prune_fraction": 0.25}, {}, BlockKind.prune),
    ("noop is never held", _change(Op.noop), Mode.auto, {"paused": True}, {}, None),
]


@pytest.mark.parametrize(("change", "mode", "reconcile", "extra", "kind"), [c[1:] for c in GATE_CASES],
                         ids=[c[0] for c in GATE_CASES])
def test_gate(state: DesiredState, change: Change, mode: Mode, reconcile: dict[str, Any], extra: dict[str, Any],
              kind: BlockKind | None) -> None:
    gated = _gated(state, change, mode, reconcile=reconcile, **extra)
    assert (gated.block.kind if gated.block else None) is kind, gated.blocked


# -- sizing --------------------------------------------------------------------------------------------

SIZING_CASES: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = [
    ("the user's numbers win", "jenkins", "standard", {"cpu": 3, "memory_gb": 5}, {"cpu": "user", "memory_gb": "user"}),
    ("a known service at a tier is the vendor's figure", "jenkins", "minimal", {}, {"memory_gb": "vendor"}),
    ("an alias finds the service", "ci-server", "minimal", {}, {"memory_gb": "vendor"}),
    ("an unknown workload is unknown, never guessed", "zz-unheard-of", "standard", {},
     {"cpu": "unknown", "memory_gb": "unknown", "storage_gb": "unknown"}),
]


@pytest.mark.parametrize(("workload", "tier", "hints", "basis"), [c[1:] for c in SIZING_CASES],
                         ids=[c[0] for c in SIZING_CASES])
def test_sizing(workload: str, tier: str, hints: dict[str, Any], basis: dict[str, str]) -> None:
    advice = advise_size(workload, tier, hints)
    assert {k: advice.fields[k].basis for k in basis} == basis
    for name, how in basis.items():
        field = advice.fields[name]
        if how == "user":
            assert field.value == float(hints[name])
        elif how == "vendor":
            assert field.value is not None and field.source and field.source in {s.id for s in advice.sources}
        else:
            assert field.value is None and name in advice.unknown and field.note
