"""Bad input: one clear message naming file, line and field, exit code 1, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.foundation.labkit import POOL, commit, homeport, new_mini_lab, resource

CASES: dict[str, tuple[dict[str, str | None], list[str]]] = {
    "malformed-yaml": (
        {"resources/a.yaml": "apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {name: a\n"},
        ["resources/a.yaml:", "malformed YAML"],
    ),
    "unknown-kind": (
        {"resources/a.yaml": resource("a").replace("UniversalResource", "VirtualMachine")},
        ["resources/a.yaml:2", "kind", "unknown kind 'VirtualMachine'"],
    ),
    "unknown-api-version": (
        {"resources/a.yaml": resource("a").replace("homelab.ai/v1", "homelab.ai/v2")},
        ["resources/a.yaml:1", "apiVersion", "unknown apiVersion"],
    ),
    "wrong-type": (
        {"resources/a.yaml": resource("a").replace("cpu: 2", "cpu: lots")},
        ["resources/a.yaml:6", "spec.requirements.cpu", "integer"],
    ),
    "unknown-field": (
        {"resources/a.yaml": resource("a", extra="  replicas_typo: 3\n")},
        ["resources/a.yaml:7", "spec.replicas_typo", "unknown field"],
    ),
    "bad-name": (
        {"resources/a.yaml": resource("a").replace("name: a}", "name: Web_Server}")},
        ["resources/a.yaml:3", "metadata.name", "DNS-1123"],
    ),
    "duplicate-name": (
        {"resources/a-copy.yaml": resource("a")},
        ["duplicate UniversalResource name 'a'", "metadata.name"],
    ),
    "missing-pool": (
        {"resources/a.yaml": resource("a").replace("/lab/compute", "/lab/nowhere")},
        ["resources/a.yaml:5", "spec.pool", "pool '/lab/nowhere' does not exist"],
    ),
    "missing-template": (
        {"resources/a.yaml": resource("a", extra="  template: nope\n")},
        ["resources/a.yaml:7", "spec.template", "template 'nope' does not exist"],
    ),
    "missing-parent-pool": (
        {
            "pools/child.yaml": POOL.replace("name: compute", "name: child").replace(
                "/lab/compute", "/lab/compute/child"
            )
            + "  parent: ghost\n"
        },
        ["pools/child.yaml:", "spec.parent", "parent pool 'ghost' does not exist"],
    ),
    "cyclic-pools": (
        {
            "pools/x.yaml": POOL.replace("name: compute", "name: x").replace("/lab/compute", "/lab/x")
            + "  parent: y\n",
            "pools/y.yaml": POOL.replace("name: compute", "name: y").replace("/lab/compute", "/lab/y")
            + "  parent: x\n",
        },
        ["cycle"],
    ),
    "bad-disk-unit": (
        {
            "resources/a.yaml": resource("a", extra="  overrides: {}\n").replace(
                "memory_gb: 4}", "memory_gb: 4, disks: [{name: data, size: 10Q}]}"
            )
        },
        ["resources/a.yaml", "spec.requirements.disks.0.size", "not a size"],
    ),
    "provider-undeclared": (
        {"pools/compute.yaml": POOL.replace("provider: lab", "provider: ghost")},
        ["pools/compute.yaml:6", "spec.provider", "not declared in homeport.yaml"],
    ),
    "chart-values": (
        {"resources/a.yaml": resource("a", cpu=999)},
        ["resource a", "chart sim-machine", "requirements.cpu"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_error_and_writes_nothing(tmp_path: Path, case: str) -> None:
    lab = new_mini_lab(tmp_path)
    files, expected = CASES[case]
    commit(lab, files, f"break: {case}")
    db = lab / ".homeport" / "state.db"
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        code, out = homeport(*command, "--lab", str(lab))
        assert code == 1, (command, out)
        assert "Traceback" not in out
        for fragment in expected:
            assert fragment in out, (command, fragment, out)
    assert not (lab / "rendered-configs").exists()
    # the failed apply recorded why (an invalid run), and created no instance
    from reconciler.store.database import open_database
    from reconciler.store.instances import list_instances
    from reconciler.store.runs import recent_runs

    database = open_database(f"sqlite:///{db}")
    try:
        assert list_instances(database, "mini") == []
        assert [r.status for r in recent_runs(database, "mini")] in (["invalid"], [])
    finally:
        database.dispose()


EVIL_CHART = {
    "charts/evil/Chart.yaml": "name: evil\nversion: 1.0.0\nprovider_types: [sim]\n"
    "outputs: [{file: out.txt, format: text}]\n",
    "charts/evil/templates/out.txt.j2": "{{ cycler.__init__.__globals__.os.popen('id').read() }}\n",
    "templates/evil.yaml": "apiVersion: homelab.ai/v1\nkind: DeploymentTemplate\nmetadata: {name: evil}\n"
    "spec:\n  infrastructure: {chart: evil}\n",
}


def test_a_lab_chart_that_tries_to_escape_the_sandbox(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    commit(lab, {**EVIL_CHART, "resources/a.yaml": resource("a", extra="  template: evil\n")}, "evil chart")
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"], ["render"]):
        code, out = homeport(*command, "--lab", str(lab))
        assert code == 1, (command, out)
        assert "Traceback" not in out and "uid=" not in out
        assert "resource a" in out and "chart evil" in out and "sandbox" in out, out
    assert not (lab / "rendered-configs" / "a").exists()


def test_a_lab_can_bring_its_own_chart(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    good = {**EVIL_CHART, "charts/evil/templates/out.txt.j2": "machine {{ resource.name }} on {{ lab.name }}\n"}
    commit(lab, {**good, "resources/a.yaml": resource("a", extra="  template: evil\n")}, "own chart")
    code, out = homeport("render", "--lab", str(lab))
    assert code == 0, out
    assert (lab / "rendered-configs" / "a" / "evil" / "out.txt").read_text() == "machine a on mini\n"
