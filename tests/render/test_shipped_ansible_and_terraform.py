"""The Ansible playbooks/roles and Terraform modules homeport ships pass the same validators as rendered output."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.render.validators import blocking
from reconciler.render.validators.ansible_format import validate as validate_playbook
from reconciler.render.validators.terraform_format import validate as validate_terraform
from tests.render.lab import EXAMPLE_LAB, ROOT, load_lab

PLAYBOOKS = sorted((ROOT / "ansible" / "playbooks").glob("*.yml"))
MODULE_FILES = sorted((ROOT / "terraform" / "modules").rglob("*.tf"))


def test_every_playbook_a_template_names_exists() -> None:
    state = load_lab(EXAMPLE_LAB)
    named = {pb.path for t in state.templates.values() for pb in t.spec.configuration.playbooks}
    missing = sorted(p for p in named if not (ROOT / p).is_file())
    assert named and missing == []


@pytest.mark.slow
@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[p.stem for p in PLAYBOOKS])
def test_shipped_playbook_passes_syntax_check_and_lint(playbook: Path) -> None:
    issues = validate_playbook(playbook.name, playbook.read_text(encoding="utf-8"))
    assert blocking(issues) == [], "\n".join(str(i) for i in issues)


@pytest.mark.parametrize("path", MODULE_FILES, ids=[f"{p.parent.name}/{p.name}" for p in MODULE_FILES])
def test_shipped_terraform_module_passes_the_terraform_checks(path: Path) -> None:
    assert MODULE_FILES, "no module under terraform/modules"
    issues = validate_terraform(path.name, path.read_text(encoding="utf-8"))
    assert blocking(issues) == [], "\n".join(str(i) for i in issues)


def test_a_module_the_template_names_exists() -> None:
    state = load_lab(EXAMPLE_LAB)
    modules = {t.spec.infrastructure.module for t in state.templates.values() if t.spec.infrastructure.module}
    assert modules and all((ROOT / "terraform" / "modules" / m / "main.tf").is_file() for m in modules)
