"""The drill and the what-if on a Proxmox lab served by fakepve (three nodes of 4 cores / 8 GiB, and guests
nobody manages): the drill rebuilds on simulated copies of the observed nodes and finds a drift never adopted
and a secret reference that does not resolve; the what-if copies every guest (managed or not) with its
allocation, shows pve1 going over its memory ratio and names the proposal that would no longer fit. fakepve
sees no request that changes anything during either."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.proposals.create import ProposalDraft
from reconciler.service import commands
from reconciler.service.drill import rebuild_drill
from reconciler.service.lab import LabService
from reconciler.service.whatif import whatif_proposal
from reconciler.source.scaffold import create_lab
from tests.backends.pve import PVE_POOL_WITH_DEFAULTS, PveBackend

UNSET = "HOMEPORT_FAKEPVE_DRILL_NEVER_SET"


def vm(name: str, cpu: int, memory_gb: float, extra: str = "") -> str:
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  pool: /infrastructure/proxmox
  requirements: {{cpu: {cpu}, memory_gb: {memory_gb}, storage_gb: 4}}
  placement: {{node: pve1}}
{extra}"""


@pytest.fixture
def pve_lab(pve: PveBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Proxmox lab with `app` (1 vCPU, 2 GiB) and `tool` (a secret reference nobody set) on pve1, applied."""
    monkeypatch.delenv(UNSET, raising=False)
    source, lab = tmp_path / "source", tmp_path / "lab"
    for folder in ("pools", "resources"):
        (source / folder).mkdir(parents=True, exist_ok=True)
    (source / "homeport.yaml").write_text(pve.lab_yaml("{auto_apply: true, prune: false, self_heal: false}",
                                                       nodes=False))
    (source / "pools" / "proxmox.yaml").write_text(PVE_POOL_WITH_DEFAULTS)
    (source / "resources" / "app.yaml").write_text(vm("app", 1, 2))
    secret = f"  service: {{secret_env: {{TOKEN: {UNSET}}}}}\n"
    (source / "resources" / "tool.yaml").write_text(vm("tool", 1, 1, secret))
    create_lab(lab, example=source)
    session = LabSession.open(lab, actor="test")
    try:
        result = reconcile(session, mode=Mode.manual, trigger="test")
        assert result.status == "ok", result.error
    finally:
        session.close()
    return lab


def _writes(pve: PveBackend, start: int) -> list[tuple[str, str]]:
    return [(m, p) for m, p in pve.requests_since(start) if m != "GET"]


def test_drill_on_fakepve(pve: PveBackend, pve_lab: Path) -> None:
    pve.guest("app").config["cores"] = 3  # changed by hand in the Proxmox UI
    session = LabSession.open(pve_lab, actor="test")
    try:
        reconcile(session, mode=Mode.auto, trigger="test")  # self_heal off: recorded as drift, not repaired
    finally:
        session.close()
    with LabService.open(pve_lab) as service:
        commands.snapshot(service, name="pve")
        start = len(pve.pve.requests)
        report = rebuild_drill(service)
    assert pve.requests_since(start) == []  # the drill never called the real provider
    assert report.seeded_nodes == {"pve": ["pve1", "pve2", "pve3"]}
    items = {i.resource: i for i in report.items}
    assert [r.kind for r in items["app"].reasons] == ["drift"], items["app"]
    assert "cores" in items["app"].reasons[0].message
    assert [r.kind for r in items["tool"].reasons] == ["secret"]
    assert UNSET in items["tool"].reasons[0].message
    assert items["app"].node == "pve1" and items["tool"].node == "pve1"
    assert report.score == "0 of 2 resources rebuildable from Git"


def test_whatif_on_fakepve(pve: PveBackend, pve_lab: Path) -> None:
    text = (pve_lab / "resources" / "app.yaml").read_text()
    with LabService.open(pve_lab) as service:
        cache = commands.propose(service, ProposalDraft(title="add cache on pve1", edits={
            "resources/cache.yaml": vm("cache", 1, 4).encode()}), auto_merge=False)
        grow = commands.propose(service, ProposalDraft(title="grow app to 7 GiB", edits={
            "resources/app.yaml": text.replace("memory_gb: 2,", "memory_gb: 7,").encode()}), auto_merge=False)
        start = len(pve.pve.requests)
        report = whatif_proposal(service, grow.id)
    assert _writes(pve, start) == []  # observed (GET) only
    assert report.providers == ["pve"]
    pve1 = next(n for n in report.nodes if n.node == "pve1")
    assert pve1.before.memory_gb == 8 and pve1.before.memory_allocated_gb == 3  # app 2 + tool 1
    assert pve1.after.memory_allocated_gb == 8 and not pve1.over_after  # exactly full, not over
    unmanaged = [n for n in report.nodes if n.node in ("pve2", "pve3")]
    assert all(n.before.guests >= 1 for n in unmanaged)  # the guests nobody manages are copied too
    assert [p.proposal_id for p in report.no_longer_fit] == [cache.id]
    assert "pve1" in report.no_longer_fit[0].why[0]


def test_whatif_on_fakepve_node_over_ratio(pve: PveBackend, pve_lab: Path) -> None:
    text = (pve_lab / "resources" / "app.yaml").read_text()
    with LabService.open(pve_lab) as service:
        cache = commands.propose(service, ProposalDraft(title="add cache on pve1", edits={
            "resources/cache.yaml": vm("cache", 1, 4).encode()}), auto_merge=False)
        grow = commands.propose(service, ProposalDraft(title="grow app to 9 GiB", edits={
            "resources/app.yaml": text.replace("memory_gb: 2,", "memory_gb: 9,").encode()}), auto_merge=False)
        report = whatif_proposal(service, grow.id)
    assert report.over_ratio == ["pve/pve1: memory 10/8 GiB (8 x 1)"]
    assert [p.proposal_id for p in report.no_longer_fit] == [cache.id]
    assert f"would no longer fit: {cache.id}" in report.markdown()
