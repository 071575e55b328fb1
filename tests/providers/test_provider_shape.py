"""Every provider package has the one shape (issue 13 item 5; reconciler/providers/sim is the worked example):

settings.py  options as a pydantic model          errors.py  map_error: vendor errors -> the provider error tree
facts.py     pure parsers of the provider's answers, table-tested from recorded answers (tests/providers/<p>/cases)
fields.py    desired fields and demand (pure)     observe.py read only
apply.py     the only code that changes things    apply_<executor>.py  a second executor, named after it
provider.py  PROVIDER_CLASS, a Provider subclass

The test walks whatever provider packages exist, so a new one is held to the same shape.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from pydantic import BaseModel

from reconciler.providers.base import Provider

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ROOT / "reconciler" / "providers"
TESTS = ROOT / "tests" / "providers"
NOT_PROVIDERS = {"ansible"}  # the configure step, not a provider
REQUIRED = ("settings.py", "errors.py", "facts.py", "fields.py", "observe.py", "apply.py", "provider.py")
# names the old layout used for what the shape now calls errors.py, settings.py and apply_<executor>.py
RETIRED = ("faults.py", "config.py", "terraform.py", "apply_cfn.py", "apply_api.py")

PACKAGES = sorted(
    p.name for p in PROVIDERS.iterdir() if (p / "__init__.py").exists() and p.name not in NOT_PROVIDERS
)


def defined(path: Path) -> dict[str, ast.AST]:
    """Top-level functions, classes and assignments of a module, by name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
    return names


def test_there_are_provider_packages() -> None:
    assert {"sim", "proxmox", "docker", "vmware", "aws"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_has_the_shape(package: str) -> None:
    folder = PROVIDERS / package
    missing = [f for f in REQUIRED if not (folder / f).exists()]
    assert not missing, f"reconciler/providers/{package} lacks {', '.join(missing)} (see providers/sim)"
    retired = [f for f in RETIRED if (folder / f).exists()]
    assert not retired, f"reconciler/providers/{package} still has {', '.join(retired)}: use the shape's names"
    for extra in folder.glob("apply*.py"):
        assert extra.name == "apply.py" or extra.stem.removeprefix("apply_").isidentifier(), extra.name
    assert "map_error" in defined(folder / "errors.py"), f"{package}/errors.py: vendor errors map in map_error()"
    assert "PROVIDER_CLASS" in defined(folder / "provider.py"), f"{package}/provider.py: PROVIDER_CLASS = ..."


@pytest.mark.parametrize("package", PACKAGES)
def test_settings_is_a_pydantic_model_and_provider_class_a_provider(package: str) -> None:
    try:
        settings = importlib.import_module(f"reconciler.providers.{package}.settings")
        provider = importlib.import_module(f"reconciler.providers.{package}.provider")
    except ModuleNotFoundError as exc:  # an optional SDK missing on this machine fails, never skips
        pytest.fail(f"{package}: {exc}; run `make venv` (uv sync --all-extras)")
    models = [v for v in vars(settings).values()
              if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == settings.__name__]
    assert models, f"{package}/settings.py defines no pydantic model of the provider's options"
    cls = provider.PROVIDER_CLASS
    assert isinstance(cls, type) and issubclass(cls, Provider)
    assert importlib.import_module(f"reconciler.providers.{package}").PROVIDER_CLASS is cls


@pytest.mark.parametrize("package", PACKAGES)
def test_facts_are_table_tested_from_recorded_answers(package: str) -> None:
    folder = TESTS / package
    recorded = [d for d in (folder / "cases", folder / "recorded") if d.is_dir() and any(d.iterdir())]
    assert recorded, f"tests/providers/{package}/cases (or recorded/): the provider's recorded answers"
    users = [t.name for t in folder.glob("test_*.py")
             if f"reconciler.providers.{package}.facts" in t.read_text(encoding="utf-8")]
    assert users, f"no test in tests/providers/{package} imports reconciler.providers.{package}.facts"
