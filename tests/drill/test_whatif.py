"""What-if of a proposal on the example lab: a node going over its allocation ratio is shown, the open proposal
that would no longer fit is named, the report is stored with the proposal, and the live lab is untouched."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.server import build_server
from reconciler.proposals.create import ProposalDraft
from reconciler.service import commands, queries, scratch
from reconciler.service.lab import LabService
from reconciler.service.scratch import scratch_root
from reconciler.service.whatif import require_whatif, whatif_proposal
from tests.backends.homeport_lab import make_lab
from tests.foundation.labkit import homeport


def pinned(name: str, node: str, memory_gb: int) -> bytes:
    """A resource pinned to a node of the example lab's sim pool."""
    return f"""apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  resource_type: compute
  workload_type: web-app
  pool: /infrastructure/on-premise/sim/compute
  requirements: {{cpu: 2, memory_gb: {memory_gb}, storage_gb: 10}}
  placement: {{node: {node}}}
""".encode()


@pytest.fixture
def proposals(tmp_path: Path) -> tuple[Path, str, str]:
    """The example lab applied; proposal `cache` (12 GiB on sim-3, fits today) and then `grow` (web-frontend,
    on sim-3, from 4 to 40 GiB: past sim-3's 32 GiB x 1.0)."""
    lab = make_lab(tmp_path / "lab")
    with LabService.open(lab) as service:
        cache = commands.propose(service, ProposalDraft(title="add cache on sim-3",
                                                        edits={"resources/cache.yaml": pinned("cache", "sim-3", 12)}),
                                 auto_merge=False)
        text = (lab / "resources" / "web-frontend.yaml").read_text()
        assert "memory_gb: 4," in text
        grow = commands.propose(service, ProposalDraft(
            title="grow web-frontend", edits={"resources/web-frontend.yaml":
                                              text.replace("memory_gb: 4,", "memory_gb: 40,").encode()}),
            auto_merge=False)
    return lab, cache.id, grow.id


def _live(lab: Path) -> Any:
    with LabService.open(lab) as service:
        return ([(i.name, i.node, i.status) for i in queries.instances(service)],
                service.observe().inventories["lab"].model_dump(exclude={"observed_at"}))


def test_whatif_shows_node_over_ratio_and_the_proposal_that_no_longer_fits(
    proposals: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab, cache_id, grow_id = proposals
    before = _live(lab)
    assert Path(scratch_root() or tempfile.gettempdir()).is_dir()  # where scratch labs go outside this test
    root = tmp_path / "scratch"  # a folder of this test's own: other processes make scratch labs too
    root.mkdir()
    monkeypatch.setattr(scratch, "scratch_root", lambda: str(root))
    made: list[str] = []
    mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(scratch.tempfile, "mkdtemp", lambda **kw: made.append(mkdtemp(**kw)) or made[-1])
    with LabService.open(lab) as service:
        report = whatif_proposal(service, grow_id)
    assert _live(lab) == before  # nothing live changed
    assert any(Path(m).parent == root for m in made) and list(root.iterdir()) == []  # made there, gone
    assert report.plan["counts"].get("update") == 1
    sim3 = next(n for n in report.nodes if n.node == "sim-3")
    assert sim3.before.memory_allocated_gb == 4 and sim3.after.memory_allocated_gb == 40
    assert sim3.after.memory_ratio == 1.0 and sim3.after.memory_gb == 32
    assert sim3.over_after == ["memory 40/32 GiB (32 x 1)"] and not sim3.over_before
    assert report.over_ratio == ["lab/sim-3: memory 40/32 GiB (32 x 1)"]
    assert [p.proposal_id for p in report.no_longer_fit] == [cache_id]
    assert "sim-3" in report.no_longer_fit[0].why[0]
    assert report.cost.monthly_delta_usd == 0 and not report.cost.unknown
    assert f"would no longer fit: {cache_id}" in report.summary
    with LabService.open(lab) as service:  # stored with the proposal
        stored = require_whatif(service, grow_id)
        assert stored.over_ratio == report.over_ratio and stored.head_commit == report.head_commit
        assert any(a.action == "proposal-whatif" for a in queries.audit(service, limit=5))


def test_whatif_of_a_fitting_proposal_places_it(proposals: tuple[Path, str, str]) -> None:
    lab, cache_id, grow_id = proposals
    code, out = homeport("proposals", "whatif", cache_id, "--lab", str(lab), "--output", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["placements"] == [{"resource": "cache", "provider": "lab", "op": "create", "node": "sim-3",
                                   "reason": data["placements"][0]["reason"]}]
    assert data["over_ratio"] == []
    # growing web-frontend to 40 GiB never fitted sim-3 (32 GiB): it does not fit, but not "no longer"
    assert data["no_longer_fit"] == []
    grow = next(p for p in data["pending"] if p["proposal_id"] == grow_id)
    assert (grow["fits_before"], grow["fits_after"]) == (False, False)
    code, out = homeport("proposals", "whatif", "nope", "--lab", str(lab))
    assert code != 0 and "no proposal 'nope'" in out


def test_whatif_and_drill_over_mcp(proposals: tuple[Path, str, str]) -> None:
    lab, cache_id, grow_id = proposals
    app = HomeportApp(lab)
    try:
        server = build_server(app, local_caller=Caller(actor="agent:test", scopes=frozenset({"read"})))

        async def go() -> tuple[Any, Any, Any]:
            async with Client(server) as client:
                return (await client.call_tool("whatif-proposal", {"proposal_id": grow_id}),
                        await client.call_tool("run-rebuild-drill", {}),
                        await client.call_tool("whatif-proposal", {"proposal_id": "00000000aa"}))

        whatif, drill, missing = anyio.run(go)
    finally:
        app.close()
    assert not whatif.is_error, whatif.content[0].text
    assert whatif.structured_content["no_longer_fit"][0]["proposal_id"] == cache_id
    assert "over ratio: lab/sim-3" in whatif.structured_content["summary"]
    assert not drill.is_error, drill.content[0].text
    assert drill.structured_content["score"].endswith("resources rebuildable from Git")
    assert missing.is_error and "no proposal" in missing.content[0].text


def test_whatif_goes_into_the_pull_request_body(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a lab with a forge, the what-if is written into the proposal's pull request body (PATCH)."""
    from tests.proposals.forgesim import ForgeSim
    from tests.proposals.test_forge import TOKEN, _forge_lab

    monkeypatch.setenv("HP_TEST_FORGE_TOKEN", TOKEN)
    with ForgeSim("me/homelab", TOKEN) as forge:
        lab = _forge_lab(tmp_path, forge.url)
        with LabService.open(lab, actor="agent:test", actor_kind="agent") as service:
            p = commands.propose(service, ProposalDraft(title="add cache", edits={
                "resources/cache.yaml": pinned("cache", "sim-3", 12)}), auto_merge=False)
            assert p.forge_url == "https://github.example/me/homelab/pull/1"
            report = whatif_proposal(service, p.id)
        patch = forge.requests[-1]
        assert patch["method"] == "PATCH" and patch["path"] == "/api/v3/repos/me/homelab/pulls/1"
        body = forge.pulls[1]["body"]
        assert "### What-if" in body and "| cache | create | sim-3 |" in body
        assert body.index("### What-if") < body.index("<details><summary>Full plan</summary>")
        assert report.notes[-1] == f"shown in the body of pull request {p.forge_url}"
