"""Issue 24 item 7 (lab charts that crash or hang a render) and item 10's rendered-configs symlink escape."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from reconciler.models.limits import InputLimits, set_limits
from reconciler.phases.context import LabSession
from reconciler.store.tables import ReconcileRunRow
from tests.foundation.labkit import commit, homeport, new_mini_lab

CHART_YAML = """\
name: sim-machine
version: 9.0.0
provider_types: [sim]
resource_types: [compute]
outputs: [{file: machine.yaml, format: yaml}]
"""

# (template body, words of the error); each once gave a traceback or a render that never ended.
HOSTILE_TEMPLATES: dict[str, tuple[str, str]] = {
    "huge-range": ("{% for i in range(10**9) %}x{% endfor %}", "render_output_bytes"),
    "huge-repeat": ("{{ 'x' * 10**10 }}", "render_output_bytes"),
    "recursive-macro": ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}", "recurses without end"),
    "doubling-join": (
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "render_output_bytes",
    ),
    "endless-loops": (
        "{% set l = [1] * 4000000 %}{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}",
        "render_seconds",
    ),
    "huge-output": ("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", "render_output_bytes"),
    "huge-format-width": ("{{ '%10000000000s' % 1 }}", "render_output_bytes"),
    "huge-filter-width": ("{{ 'x'|center(10**10) }}", "render_output_bytes"),
    "division-by-zero": ("{{ 1 // 0 }}", "ZeroDivisionError"),
    "syntax-error": ("{% for %}", "machine.yaml.j2"),
}


def _lab_with_chart(tmp_path: Path, files: dict[str, str]) -> Path:
    lab = new_mini_lab(tmp_path)
    commit(lab, {f"charts/sim-machine/{name}": text for name, text in files.items()}, "a lab chart")
    return lab


@pytest.fixture
def short_renders() -> object:
    set_limits(InputLimits(render_seconds=1.0))
    yield None
    set_limits(None)


@pytest.mark.parametrize("case", sorted(HOSTILE_TEMPLATES))
def test_a_hostile_lab_chart_fails_its_resources_by_name(case: str, tmp_path: Path, short_renders: object) -> None:
    template, words = HOSTILE_TEMPLATES[case]
    lab = _lab_with_chart(tmp_path, {"Chart.yaml": CHART_YAML, "templates/machine.yaml.j2": template})
    code, out = homeport("plan", "--lab", str(lab))
    assert code == 1, out
    assert "Traceback" not in out
    assert "chart sim-machine" in out and words in out, out


# (files of a broken lab chart, words of the error)
MALFORMED_CHARTS: dict[str, tuple[dict[str, str], str]] = {
    "values-not-yaml": ({"values.yaml": "a: [1,\n"}, "charts/sim-machine/values.yaml:"),
    "values-a-list": ({"values.yaml": "- 1\n- 2\n"}, "chart values are a mapping, not a list"),
    "values-a-date-tag": ({"values.yaml": "a: !!timestamp 2024-01-01\n"}, "JSON types only"),
    "schema-not-json": ({"values.schema.json": "{"}, "values.schema.json: line 1"),
    "schema-a-list": ({"values.schema.json": "[]"}, "a JSON Schema is a JSON object"),
    "schema-invalid": ({"values.schema.json": '{"type": 5}'}, "not a valid JSON Schema"),
    "chart-yaml-bomb": (
        {"Chart.yaml": CHART_YAML + 'x: &a [1,1,1,1,1,1,1,1,1,1]\n'
         + "".join(f'x{i}: &a{i} [' + ",".join([f"*{'a' if i == 0 else f'a{i - 1}'}"] * 10) + "]\n" for i in range(8))},
        "yaml_nodes",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_CHARTS))
def test_a_malformed_lab_chart_is_named_not_a_traceback(case: str, tmp_path: Path) -> None:
    files, words = MALFORMED_CHARTS[case]
    lab = _lab_with_chart(tmp_path, {"Chart.yaml": CHART_YAML, "templates/machine.yaml.j2": "name: x\n", **files})
    code, out = homeport("plan", "--lab", str(lab))
    assert code == 1, out
    assert "Traceback" not in out and words in out, out


def test_a_daemon_run_over_a_hanging_chart_finishes_invalid(tmp_path: Path, short_renders: object) -> None:
    """In the reconciler a chart that would hang is stopped by render_seconds and the run is closed."""
    lab = _lab_with_chart(
        tmp_path, {"Chart.yaml": CHART_YAML, "templates/machine.yaml.j2": HOSTILE_TEMPLATES["endless-loops"][0]}
    )
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code != 0 and "render_seconds" in out, out
    with LabSession.open(lab).db.session() as s:
        assert list(s.execute(select(ReconcileRunRow.status)).scalars()) == ["invalid"]


def test_a_committed_rendered_configs_link_is_not_followed(tmp_path: Path) -> None:
    """Finding 10: a `rendered-configs` symlink committed to the lab made `render` write outside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    lab = new_mini_lab(tmp_path)
    os.symlink(outside, lab / "rendered-configs")
    commit(lab, {}, "a link")
    code, out = homeport("render", "--lab", str(lab))
    assert code == 1, out
    assert "is a symbolic link" in out and "Traceback" not in out
    assert list(outside.iterdir()) == []


def test_a_link_inside_rendered_configs_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    lab = new_mini_lab(tmp_path)
    (lab / "rendered-configs").mkdir()
    os.symlink(outside, lab / "rendered-configs" / "a")
    code, out = homeport("render", "--lab", str(lab))
    assert code == 1 and "is a symbolic link" in out, out
    assert list(outside.iterdir()) == []
