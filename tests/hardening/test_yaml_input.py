"""Issue 24 items 1, 2 and 6: YAML that got through (dates, YAML 1.1 scalars) and limits on YAML input."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from reconciler.models.limits import InputLimits, set_limits
from reconciler.models.plan import Mode
from reconciler.models.yaml12 import YamlLimitExceeded, load_documents
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.proposals.yamledit import edit_document, new_document, set_path
from reconciler.source.loader import parse_blob
from reconciler.source.yamlpos import line_index
from reconciler.store.tables import ApplyIntentRow, ReconcileRunRow, ResourceDimensionRow
from tests.foundation.labkit import homeport, new_mini_lab, resource

# Every plain scalar shape YAML 1.1 reads as something other than the text written.
YAML11_SPECIAL = [
    "yes", "no", "Yes", "No", "YES", "NO", "on", "off", "On", "Off", "ON", "OFF", "y", "n", "Y", "N",
    "true", "false", "True", "FALSE", "~", "null", "Null", "NULL", "",
    "12:30:00", "1:20", "190:20:30", "-1:20", "1:20.5",
    "2024-01-01", "2024-1-1", "2024-01-01T10:00:00Z", "2001-12-14 21:59:43.10 -5", "2001-12-14t21:59:43.10-05:00",
    "0755", "0o17", "0x1F", "0b101", "1_000", "+1_0", "1,000", "0.", "00", "+12", "-0", "012345",
    "1e3", "1E3", "1.5e-3", "1.0e+3", ".5", "5.", "+.inf", "-.inf", ".inf", ".Inf", ".nan", ".NaN", "1_0.5",
    "=", "<<", "0xZZ", "1e", "-", "~x", " lead", "trail ", "a: b", "#c", "- x", "x\ny", "\u202e",
    "\x85", "a\u2028b", "b\u2029",  # YAML line breaks: found by the fuzz suite (an edit made them spaces)
]


def test_a_yaml_date_in_dimensions_applies_and_the_run_finishes(tmp_path: Path) -> None:
    """Finding 1: `purchased: 2024-01-01` once broke every apply at record (date not JSON serialisable)."""
    lab = new_mini_lab(tmp_path, {"a": resource("a", extra="  dimensions: {purchased: 2024-01-01}\n")})
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    session = LabSession.open(lab)
    with session.db.session() as s:
        runs = s.execute(select(ReconcileRunRow.status)).scalars().all()
        dims = s.execute(
            select(ResourceDimensionRow.dimension_value, ResourceDimensionRow.dimension_type).where(
                ResourceDimensionRow.dimension_name == "purchased"
            )
        ).all()
    assert list(runs) == ["ok"]
    assert [tuple(d) for d in dims] == [("2024-01-01", "string")]


def test_an_exception_in_any_phase_closes_the_run_as_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run never stays running: an unexpected error after the provider applied closes it as failed,
    releases the lock and leaves the intent for the next run, which verifies it and finishes ok."""
    lab = new_mini_lab(tmp_path, {"a": resource("a")})
    import reconciler.phases.apply as apply_phase

    def broken(boundary: str) -> None:
        if boundary == "provider-applied":
            raise TypeError("Object of type date is not JSON serializable")

    monkeypatch.setattr(apply_phase, "crash_point", broken)
    session = LabSession.open(lab)
    first = reconcile(session, mode=Mode.manual)
    assert first.status == "failed"
    assert first.error is not None and "TypeError: Object of type date" in first.error
    assert "(at reconciler/phases/apply.py:" in first.error
    with session.db.session() as s:
        row = s.get(ReconcileRunRow, first.run_id)
        assert row is not None and row.status == "failed" and row.finished_at is not None
        assert [i.status for i in s.execute(select(ApplyIntentRow)).scalars()] == ["pending"]
    monkeypatch.undo()
    second = reconcile(LabSession.open(lab), mode=Mode.manual)  # not "skipped": the lock was released
    assert second.status == "ok", second.error
    with session.db.session() as s:
        assert "running" not in set(s.execute(select(ReconcileRunRow.status)).scalars())
        assert "pending" not in set(s.execute(select(ApplyIntentRow.status)).scalars())


@pytest.mark.parametrize("text", YAML11_SPECIAL)
def test_a_proposal_keeps_every_scalar_type(text: str) -> None:
    """Finding 2: what ruamel writes (new file or an edit) is read back by the loader as the very same value."""
    doc = {"apiVersion": "homelab.ai/v1", "kind": "UniversalResource", "metadata": {"name": "r"},
           "spec": {"dimensions": {"value": text, "key": 1}}}
    written = new_document(doc)
    assert load_documents(written.decode())[0] == doc
    edited = edit_document(
        written, "UniversalResource", "r", lambda d: set_path(d, ["spec", "dimensions", "again"], text)
    )
    assert load_documents(edited.decode())[0]["spec"]["dimensions"] == {"value": text, "key": 1, "again": text}


def test_the_issue_example_round_trips_with_its_types() -> None:
    values = {"flag": "yes", "t": "12:30:00", "e": "1:20", "n": 1, "b": True, "f": 1.5, "z": None}
    written = new_document({"spec": {"dimensions": values}})
    assert load_documents(written.decode())[0]["spec"]["dimensions"] == values


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("a: !!timestamp 2024-01-01\n", "tag 'tag:yaml.org,2002:timestamp' is not allowed"),
        ("a: !!binary aGVsbG8=\n", "is not allowed"),
        ("a: !!set {x}\n", "is not allowed"),
        ("a: .nan\n", "is not a JSON number"),
        ("8080: 80\n", "mapping key '8080' is not a string"),
        ("a: &x [*x]\n", "recursive alias"),
    ],
)
def test_values_json_cannot_hold_are_refused_with_their_line(text: str, expect: str) -> None:
    parsed = parse_blob("resources/x.yaml", b"apiVersion: homelab.ai/v1\n" + text.encode().replace(b"a:", b"b:"))
    issue = parsed.issues[0]
    assert expect in issue.message and issue.line == 2


def _laughs(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [6, 9])
def test_billion_laughs_stops_at_the_node_limit_without_expanding(levels: int, tmp_path: Path) -> None:
    """Finding 6: a 10-line alias bomb once took 2.2 GB; now it is refused, naming the limit, and not cached."""
    lab = new_mini_lab(tmp_path, {"a": resource("a"), "bomb": _laughs(levels)})
    code, out = homeport("validate", "--lab", str(lab))
    assert code == 1
    assert "resources/bomb.yaml:" in out and "yaml_nodes" in out and "HOMEPORT_LIMIT_YAML_NODES" in out
    cache = lab / ".homeport" / "parse-cache.json"
    assert not cache.exists() or cache.stat().st_size < 10_000


@pytest.mark.parametrize(
    ("limits", "text", "name"),
    [
        (InputLimits(yaml_file_bytes=100), "a: " + "x" * 200 + "\n", "yaml_file_bytes"),
        (InputLimits(yaml_documents=3), "---\na: 1\n" * 4, "yaml_documents"),
        (InputLimits(yaml_depth=5), "a: [[[[[[1]]]]]]\n", "yaml_depth"),
        (InputLimits(string_chars=10), "a: 'xxxxxxxxxxxxxxxxxxxx'\n", "string_chars"),
        (InputLimits(yaml_nodes=10), "a: [1,2,3,4,5,6,7,8,9,10,11]\n", "yaml_nodes"),
    ],
)
def test_each_yaml_limit_is_named_in_its_error(limits: InputLimits, text: str, name: str) -> None:
    with pytest.raises(YamlLimitExceeded) as caught:
        load_documents(text, limits)
    assert caught.value.name == name and f"HOMEPORT_LIMIT_{name.upper()}" in str(caught.value)
    set_limits(limits)
    try:
        parsed = parse_blob("resources/x.yaml", text.encode())
    finally:
        set_limits(None)
    assert name in parsed.issues[0].message


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.models.limits import limits_from_env

    assert limits_from_env({"HOMEPORT_LIMIT_YAML_DEPTH": "128"}).yaml_depth == 128
    with pytest.raises(ValueError, match="HOMEPORT_LIMIT_YAML_DEPTH"):
        limits_from_env({"HOMEPORT_LIMIT_YAML_DEPTH": "deep"})


def test_a_thousand_invalid_documents_are_reported_from_one_parse(tmp_path: Path) -> None:
    """Finding 6: error reporting re-parsed the file per issue (1,000 empty mappings took 251 s)."""
    text = "---\n{}\n" * 1000
    parsed = parse_blob("resources/many.yaml", text.encode())
    assert len(parsed.issues) == 1000
    assert [i.line for i in parsed.issues[:3]] == [2, 4, 6]
    line_index.cache_clear()
    parse_blob("resources/many.yaml", (text + "\n").encode())
    assert line_index.cache_info().misses == 1  # the figure (seconds) lives in bench/yaml_limits.py


def test_an_edit_keeps_every_digit_of_floats_it_did_not_touch() -> None:
    """Found by the fuzz suite: ruamel's round trip rewrote 3.474049284652361e+16 as 3.47404928465236e+16."""
    written = new_document({"kind": "K", "metadata": {"name": "r"}, "v": 3.474049284652361e16, "w": 0.1})
    edited = edit_document(written, "K", "r", lambda d: set_path(d, ["x"], 1))
    assert load_documents(edited.decode())[0] == {"kind": "K", "metadata": {"name": "r"},
                                                  "v": 3.474049284652361e16, "w": 0.1, "x": 1}
