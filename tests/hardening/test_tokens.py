"""Issue 24 item 3: tokens that outlived revocation, crossed labs or never expired; self-approval."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.proposals.create import ProposalDraft, propose
from reconciler.proposals.edits import new_object_edit
from reconciler.proposals.review import ReviewError, approve
from reconciler.service import LabService, commands, queries
from reconciler.store.tokens import TokenError, create_token
from tests.foundation.labkit import SIM_ONLY_LAB, commit, new_mini_lab, resource

runner = CliRunner()


def _service(lab: Path, url: str | None = None) -> LabService:
    return LabService.open(lab, database_url=url, actor="cli:tester", actor_kind="human")


@pytest.mark.postgres
def test_a_token_of_one_lab_never_opens_another_on_a_shared_database(tmp_path: Path, pg_url: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    lab_a = new_mini_lab(tmp_path / "a")
    lab_b = new_mini_lab(tmp_path / "b")
    commit(lab_b, {"homeport.yaml": SIM_ONLY_LAB.replace("name: mini", "name: other")}, "another lab")
    with _service(lab_a, pg_url) as a, _service(lab_b, pg_url) as b:
        secret = commands.create_token(a, name="agent", scopes="read,propose").secret
        assert commands.authenticate_token(a, secret) is not None
        assert commands.authenticate_token(b, secret) is None
        assert [t.name for t in queries.tokens(b)] == []


def test_renaming_the_lab_ends_its_tokens_for_list_revoke_and_the_server_alike(tmp_path: Path) -> None:
    """After a rename `token list` showed nothing and revoke said "no active token", yet the server accepted it."""
    lab = new_mini_lab(tmp_path)
    with _service(lab) as service:
        secret = commands.create_token(service, name="agent", scopes="read").secret
    commit(lab, {"homeport.yaml": SIM_ONLY_LAB.replace("name: mini", "name: renamed")}, "rename")
    with _service(lab) as service:
        assert queries.tokens(service) == []
        assert commands.authenticate_token(service, secret) is None


def test_token_list_and_revoke_work_while_main_is_invalid(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    with _service(lab) as service:
        secret = commands.create_token(service, name="agent", scopes="read").secret
    commit(lab, {"resources/a.yaml": resource("a").replace("cpu: 2", "cpu: lots")}, "break main")
    listed = runner.invoke(app, ["token", "list", "--lab", str(lab), "-o", "json"])
    assert listed.exit_code == 0, listed.output
    assert "agent" in listed.stdout
    revoked = runner.invoke(app, ["token", "revoke", "agent", "--lab", str(lab)])
    assert revoked.exit_code == 0, revoked.output
    with _service(lab) as service:
        assert commands.authenticate_token(service, secret) is None


@pytest.mark.parametrize("days", ["0", "-1", "100000"])
def test_expires_days_outside_one_to_ten_years_is_refused(days: str, tmp_path: Path) -> None:
    """`--expires-days 0` once made a token that never expired."""
    lab = new_mini_lab(tmp_path)
    made = runner.invoke(app, ["token", "create", "x", "--scopes", "read", "--expires-days", days, "--lab", str(lab)])
    assert made.exit_code == 1, made.output
    assert "expires after 1 to 3650 days" in made.output
    assert "Traceback" not in made.output


def test_store_refuses_zero_days_too(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    with _service(lab) as service, pytest.raises(TokenError):
        create_token(service.session.db, "mini", name="x", owner="o", scopes=("read",), expires_in_days=0)


def _proposal(service: LabService, author: str) -> str:
    state = service.state()
    path, data = new_object_edit(state, "UniversalResource", "extra",
                                 {"pool": "/lab/compute", "requirements": {"cpu": 1, "memory_gb": 1}})
    service.session.actor = author
    return propose(service.session, ProposalDraft(title="Add extra", edits={path: data}, reason="test")).id


def test_an_identity_may_not_approve_its_own_proposal_by_default(tmp_path: Path) -> None:
    """A token holding propose,approve merged its own proposal; by default someone else must review it."""
    lab = new_mini_lab(tmp_path)
    with _service(lab) as service:
        pid = _proposal(service, "ann via token both")
        with pytest.raises(ReviewError, match="may not also approve it"):
            approve(service.session, pid, reviewer="ann via token both", reviewer_kind="human")
        merged = approve(service.session, pid, reviewer="bob via token admin", reviewer_kind="human")
        assert merged.proposal.status == "merged"


def test_a_lab_may_allow_self_approval(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    commit(lab, {"homeport.yaml": SIM_ONLY_LAB + "  proposals: {allow_self_approval: true}\n"}, "allow")
    with _service(lab) as service:
        pid = _proposal(service, "ann via token both")
        merged = approve(service.session, pid, reviewer="ann via token both", reviewer_kind="human")
        assert merged.proposal.status == "merged"
