"""`homeport plan --output markdown`: the pull-request comment body. Golden text for the example lab;
the size cap and the order (deletes and replaces first) on plans built here."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from reconciler.cli.plan_markdown import COMMENT_LIMIT, MARKER, plan_markdown
from reconciler.models.plan import Change, FieldChange, Op, Plan, Risk
from tests.render.lab import ROOT

GOLDEN = Path(__file__).parent / "golden" / "example-lab-plan.md"
HOMEPORT = ROOT / ".venv" / "bin" / "homeport"


def _normalised(text: str) -> str:
    return re.sub(r"at `[0-9a-f]{12}`", "at `REVISION`", text)


def test_example_lab_plan_comment_matches_golden(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    subprocess.run([str(HOMEPORT), "init", str(lab)], check=True, capture_output=True)
    proc = subprocess.run([str(HOMEPORT), "plan", "--lab", str(lab), "--output", "markdown"],
                          capture_output=True, text=True, check=True, env={**os.environ, "NO_COLOR": "1"})
    text = _normalised(proc.stdout)
    if os.environ.get("HOMEPORT_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), "run with HOMEPORT_UPDATE_GOLDEN=1 to accept a change"


def _change(op: Op, name: str, risk: Risk = Risk.medium) -> Change:
    return Change(op=op, resource=name, provider="pve", provider_type="proxmox", reason=f"{op.value} {name}",
                  risk=risk, fields=[FieldChange(path="cpu", old=2, new=4), FieldChange(path="notes", old=None,
                                                                                          new="x" * 300)])


def test_deletes_and_replaces_come_first_and_the_summary_leads() -> None:
    plan = Plan(lab="home", revision="a" * 40, changes=[
        _change(Op.create, "alpha"), _change(Op.delete, "zulu", Risk.high), _change(Op.replace, "mike", Risk.high),
        _change(Op.update, "bravo"), Change(op=Op.noop, resource="same", provider="pve", provider_type="proxmox",
                                           reason="vm 120 matches: 4 cores, 8 GiB")])
    text = plan_markdown(plan)
    lines = text.splitlines()
    assert lines[0] == MARKER
    assert lines[3] == "1 to create, 1 to update, 1 to replace, 1 to delete · **highest risk: high**"
    order = [name for name in ("zulu", "mike", "bravo", "alpha") if f"`{name}`" in text]
    assert [text.index(f"`{n}` (") for n in order] == sorted(text.index(f"`{n}` (") for n in order)
    assert "<summary>1 unchanged</summary>" in text and "vm 120 matches" in text


def test_a_huge_plan_stays_under_the_comment_limit_with_balanced_markup() -> None:
    changes = [_change(Op.update, f"vm-{i:04d}") for i in range(3000)] + [_change(Op.delete, "old-db", Risk.high)]
    text = plan_markdown(Plan(lab="home", revision="b" * 40, changes=changes))
    assert len(text) <= COMMENT_LIMIT
    assert text.count("<details>") == text.count("</details>")
    assert text.index("`old-db`") < text.index("`vm-0000`"), "the delete is listed before any update"
    assert "and 2951 more" in text and "cut to the comment size limit" in text


def test_no_changes_says_so() -> None:
    text = plan_markdown(Plan(lab="home", revision="c" * 40))
    assert "**No changes.**" in text and len(text) < 400
