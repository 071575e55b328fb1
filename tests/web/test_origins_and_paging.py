"""Where each effective value came from (checked against the merge itself, for every resource of the example
lab), and cursor paging (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.service import LabService, browse
from reconciler.service.errors import Invalid, NotFound
from reconciler.web.paging import decode_cursor, encode_cursor, page_of
from tests.backends.homeport_lab import make_lab


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path (KeyError when absent)."""
    for part in path.split("."):
        data = data[part]
    return data


@pytest.fixture(scope="module")
def example_lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_lab(tmp_path_factory.mktemp("origins") / "lab", apply=False)


def test_every_origin_names_the_value_the_merge_produced(example_lab: Path) -> None:
    with LabService.open(example_lab, actor="test") as lab:
        state = lab.state()
        checked = 0
        for name, effective in state.effective.items():
            values = effective.model_dump(mode="json")
            for origin in browse.value_origins(state, name):
                if isinstance(origin.value, dict | list):
                    continue  # lists and maps are normalised by their models (defaults filled in)
                assert dig(values, origin.path) == origin.value, (name, origin)
                checked += 1
    assert checked > 50


def test_origins_of_a_resource_with_template_pools_and_overrides(example_lab: Path) -> None:
    with LabService.open(example_lab, actor="test") as lab:
        origins = {o.path: (o.source, o.detail) for o in browse.resource_origins(lab, "ollama-server")}
    assert origins["requirements.cpu"] == ("resource", "resources/ollama-server.yaml")
    assert origins["properties.template_id"] == ("template", "ollama-gpu-server")
    assert origins["properties.cpu_type"] == ("pool", "gpu-nodes")  # the nearest pool wins over its parents
    assert origins["properties.storage_pool"] == ("pool", "proxmox")
    assert origins["dimensions.managed_by"] == ("pool", "infrastructure")
    assert origins["provider"] == ("pool", "proxmox")
    assert origins["overrides.cpu_type"] == ("override", "resources/ollama-server.yaml: overrides.proxmox")


def test_a_resource_not_declared_is_not_found(example_lab: Path) -> None:
    with LabService.open(example_lab, actor="test") as lab, pytest.raises(NotFound):
        browse.resource_origins(lab, "nope")


ITEMS = [f"r{i:02d}" for i in range(7)]


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
def test_pages_cover_the_list_once_in_order(limit: int) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = page_of(ITEMS, lambda n: (n,), cursor=cursor, limit=limit)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ITEMS


def test_a_cursor_survives_rows_added_and_removed_between_pages() -> None:
    first = page_of(ITEMS, lambda n: (n,), cursor=None, limit=3)
    changed = [n for n in ITEMS if n != "r01"] + ["r02a"]
    changed.sort()
    second = page_of(changed, lambda n: (n,), cursor=first.next_cursor, limit=3)
    assert second.items == ["r02a", "r03", "r04"]  # after r02, whatever happened before it


def test_descending_lists_page_backwards() -> None:
    newest_first = list(reversed(ITEMS))
    page = page_of(newest_first, lambda n: (n,), cursor=None, limit=2, descending=True)
    assert page.items == ["r06", "r05"]
    assert page_of(newest_first, lambda n: (n,), cursor=page.next_cursor, limit=2, descending=True).items == [
        "r04", "r03"]


@pytest.mark.parametrize("cursor", ["!!!", "x" * 2000, "e30", "WzEsIFsyXV0"])  # "{}", [1, [2]]: not keys it makes
def test_foreign_cursors_are_invalid(cursor: str) -> None:
    with pytest.raises(Invalid):
        decode_cursor(cursor)


def test_a_cursor_of_another_list_is_invalid() -> None:
    with pytest.raises(Invalid):
        page_of(ITEMS, lambda n: (n,), cursor=encode_cursor((3,)), limit=2)
