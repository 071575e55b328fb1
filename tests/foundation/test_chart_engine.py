"""The chart engine: sandboxed, strict about undefined values, schema-checked before rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.models.effective import EffectiveResource
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec
from reconciler.render.chart import ChartLibrary, load_chart
from reconciler.render.engine import render_chart
from reconciler.render.errors import RenderError


def effective(name: str = "web", cpu: int = 2) -> EffectiveResource:
    return EffectiveResource(
        name=name,
        lab="t",
        resource_type="compute",
        workload_type="web-app",
        provider="lab",
        provider_type="sim",
        pool="/p",
        pool_name="p",
        requirements=Requirements(cpu=cpu),
        deployment=Deployment(),
        network=NetworkSpec(),
        service=ServiceSpec(),
        properties={"greeting": "hi"},
        overrides={"greeting": "hello"},
    )


def make_chart(tmp_path: Path, template: str, schema: dict | None = None, values: str = "greeting: default\n") -> Path:
    chart = tmp_path / "c"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "name: c\nversion: 1.0.0\nprovider_types: [sim]\noutputs: [{file: out.txt, format: text}]\n"
    )
    (chart / "values.yaml").write_text(values)
    if schema is not None:
        (chart / "values.schema.json").write_text(json.dumps(schema))
    (chart / "templates" / "out.txt.j2").write_text(template)
    return chart


def test_merge_order_chart_defaults_then_properties_then_overrides(tmp_path: Path) -> None:
    """Each layer wins over the one before it, key by key, and nested mappings merge instead of replacing."""
    chart_values = ("only_chart: chart\nchart_and_props: chart\nall_three: chart\n"
                    "nested: {from_chart: 1, from_props: 1, from_overrides: 1}\n")
    template = ("{{ values.only_chart }} {{ values.chart_and_props }} {{ values.all_three }} "
                "{{ values.only_props }} {{ values.nested.from_chart }}{{ values.nested.from_props }}"
                "{{ values.nested.from_overrides }} {{ resource.name }}")
    chart = load_chart(make_chart(tmp_path, template, values=chart_values))
    resource = effective().model_copy(update={
        "properties": {"chart_and_props": "props", "all_three": "props", "only_props": "props",
                       "nested": {"from_props": 2, "from_overrides": 2}},
        "overrides": {"all_three": "overrides", "nested": {"from_overrides": 3}},
    })
    assert render_chart(chart, resource).files == {"out.txt": "chart props overrides props 123 web"}


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ resource.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ],
)
def test_template_cannot_escape_the_sandbox(tmp_path: Path, escape: str) -> None:
    chart = load_chart(make_chart(tmp_path, escape))
    with pytest.raises(RenderError) as err:
        render_chart(chart, effective())
    message = str(err.value)
    assert "resource web" in message and "chart c" in message
    assert "sandbox" in message or "undefined" in message


def test_undefined_value_is_an_error_not_an_empty_string(tmp_path: Path) -> None:
    chart = load_chart(make_chart(tmp_path, "{{ values.no_such_value }}"))
    with pytest.raises(RenderError, match="undefined value"):
        render_chart(chart, effective())


def test_templates_cannot_include_files_outside_the_chart(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    chart = load_chart(make_chart(tmp_path, "{% include '../secret.txt' %}"))
    with pytest.raises(RenderError) as err:
        render_chart(chart, effective())
    assert "s3cret" not in str(err.value)


def test_values_failing_the_schema_name_resource_field_and_chart(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {
            "resource": {
                "type": "object",
                "properties": {
                    "requirements": {"type": "object", "properties": {"cpu": {"type": "integer", "maximum": 8}}}
                },
            }
        },
    }
    chart = load_chart(make_chart(tmp_path, "x", schema=schema))
    with pytest.raises(RenderError) as err:
        render_chart(chart, effective(cpu=64))
    message = str(err.value)
    assert "resource web" in message and "chart c" in message and "resource.requirements.cpu" in message


def test_empty_outputs_are_dropped_and_library_picks_by_provider_type(tmp_path: Path) -> None:
    make_chart(tmp_path, "{% if false %}x{% endif %}")
    library = ChartLibrary([tmp_path])
    chart = library.for_resource("sim", "compute")
    assert chart is not None and chart.name == "c"
    assert library.for_resource("aws", "compute") is None
    assert render_chart(chart, effective("other")).files == {}
