"""Every example-lab resource renders with every chart that supports it, matches tests/golden/, and
passes the validator of its format."""

from __future__ import annotations

import pytest

from reconciler.models.desired import DesiredState
from reconciler.render.chart import ChartLibrary
from reconciler.render.engine import render_chart
from reconciler.render.validators import blocking, validate_rendered, validate_rendered_many
from tests.render.golden import read_golden, render_lab, supporting_charts

UPDATE_HINT = "run `make golden` (scripts/update-golden.sh) and review the diff of tests/golden"


def test_every_resource_has_a_chart(example_state: DesiredState, library: ChartLibrary) -> None:
    missing = [n for n, r in sorted(example_state.effective.items()) if not supporting_charts(library, r)]
    assert missing == [], f"resources no chart supports: {missing}"


def test_renders_match_golden_files(example_state: DesiredState, library: ChartLibrary) -> None:
    rendered = render_lab(example_state, library)
    golden = read_golden()
    assert sorted(rendered) == sorted(golden), f"rendered files differ from tests/golden: {UPDATE_HINT}"
    changed = [rel for rel in rendered if rendered[rel] != golden[rel]]
    assert changed == [], f"renders differ from golden for {changed}: {UPDATE_HINT}"


def test_every_provider_type_of_the_lab_is_rendered(example_state: DesiredState) -> None:
    golden = read_golden()
    rendered_types = {example_state.effective[rel.split("/", 1)[0]].provider_type for rel in golden}
    assert rendered_types == {"proxmox", "docker", "kubernetes", "aws", "vmware", "lxd", "azure", "sim"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["azure-web", "burst-inference", "dns-cache", "jenkins", "legacy-app", "media-lxc",
                                  "nextcloud", "ollama-server", "webapp", "web-frontend"])
def test_golden_outputs_pass_their_validators(name: str, example_state: DesiredState, library: ChartLibrary) -> None:
    resource = example_state.effective[name]
    for chart in supporting_charts(library, resource):
        files = render_chart(chart, resource).files
        issues = validate_rendered(files, chart)
        unavailable = [str(i) for i in issues if i.severity == "unavailable"]
        assert unavailable == [], f"validators missing in the test environment: {unavailable}"
        assert blocking(issues) == [], "\n".join(str(i) for i in issues)


@pytest.mark.slow
def test_validating_many_at_once_gives_the_same_issues(example_state: DesiredState, library: ChartLibrary) -> None:
    """validate_rendered_many (threads) reports exactly what validate_rendered does one by one."""
    batch = {}
    for name in ["azure-web", "burst-inference", "legacy-app", "media-lxc", "nextcloud", "webapp"]:
        resource = example_state.effective[name]
        chart = supporting_charts(library, resource)[0]
        files = dict(render_chart(chart, resource).files)
        if name == "webapp":
            files["deployment.yaml"] = files["deployment.yaml"].replace("replicas: 3", "replica: 3")
        batch[name] = (files, chart)
    together = validate_rendered_many(batch)
    one_by_one = {name: validate_rendered(files, chart) for name, (files, chart) in batch.items()}
    assert together == one_by_one
    assert blocking(together["webapp"]) and not any(blocking(together[n]) for n in batch if n != "webapp")
