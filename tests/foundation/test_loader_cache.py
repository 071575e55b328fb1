"""Unchanged files are never re-parsed: blobs are cached by id in memory and, as JSON, across processes."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2

from reconciler.source.gitrepo import resolve_commit
from reconciler.source.loader import LoadCache, load_commit
from tests.foundation.labkit import commit, new_mini_lab, resource


def test_only_changed_blobs_are_parsed_again(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path, {n: resource(n) for n in "abcd"})
    repo = pygit2.Repository(str(lab))
    cache = LoadCache()
    first = load_commit(repo, resolve_commit(repo, "main"), cache)
    assert cache.parsed == 6  # homeport.yaml, one pool, four resources
    commit(lab, {"resources/b.yaml": resource("b", cpu=4)}, "grow b")
    second = load_commit(repo, resolve_commit(repo, "main"), cache)
    assert cache.parsed == 7  # only the changed file
    assert second.effective["b"].requirements.cpu == 4 and first.effective["b"].requirements.cpu == 2
    again = load_commit(repo, resolve_commit(repo, "main"), cache)
    assert again is second and cache.parsed == 7  # the same commit: nothing read at all


def test_parsed_documents_survive_the_process_and_give_the_same_state(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    repo = pygit2.Repository(str(lab))
    disk = tmp_path / "parse-cache.json"
    cold = load_commit(repo, resolve_commit(repo, "main"), LoadCache(disk=disk))
    stored = json.loads(disk.read_text())
    assert len(stored) == 4
    warm_cache = LoadCache(disk=disk)
    warm = load_commit(repo, resolve_commit(repo, "main"), warm_cache)
    assert {n: e.model_dump() for n, e in warm.effective.items()} == {
        n: e.model_dump() for n, e in cold.effective.items()
    }
    # an unquoted date is text in homeport's YAML (1.2 core schema), so JSON holds it and it is cached too
    commit(
        lab,
        {
            "resources/c.yaml": resource("c").replace(
                "metadata: {name: c}", "metadata: {name: c, annotations: {since: '2024-01-01'}}"
            )
            + "  dimensions: {installed: 2024-01-01}\n"
        },
        "a date",
    )
    load_commit(repo, resolve_commit(repo, "main"), LoadCache(disk=disk))
    cached = json.loads(disk.read_text())
    assert len(cached) == 5
    assert any(d[0]["spec"].get("dimensions") == {"installed": "2024-01-01"} for d in cached.values())
