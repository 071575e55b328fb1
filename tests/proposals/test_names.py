"""Input checks before anything touches Git: branch names, paths, ids and text."""

from __future__ import annotations

import pytest

from reconciler.proposals.names import (
    ProposalInputError,
    check_branch,
    check_proposal_id,
    check_repo_path,
    check_resource_name,
    check_text,
    slugify,
)


@pytest.mark.parametrize("path", ["../etc/passwd", "resources/../homeport.yaml", "/etc/x.yaml", "-rf.yaml",
                                  "resources/-x.yaml", "resources//x.yaml", "charts/x.yaml", "resources/x.txt",
                                  "resources\\x.yaml", "resources/x\x00.yaml", ".git/config"])
def test_bad_paths_are_refused(path: str) -> None:
    """Traversal, absolute, flag-like, outside the desired state, control characters."""
    with pytest.raises(ProposalInputError):
        check_repo_path(path)


def test_good_paths() -> None:
    """Desired-state files pass unchanged."""
    for path in ("homeport.yaml", "resources/web.yaml", "pools/gpu/nodes.yml"):
        assert check_repo_path(path) == path


@pytest.mark.parametrize("branch", ["main", "proposals/../main", "proposals/-x", "proposals/a..b",
                                    "proposals/x\ny", "proposals/UPPER", "proposals/a b", "refs/heads/proposals/x"])
def test_bad_branches_are_refused(branch: str) -> None:
    """Only proposals/<id>-<slug> in lower case."""
    with pytest.raises(ProposalInputError):
        check_branch(branch)


def test_names_ids_text_and_slugs() -> None:
    """DNS labels, hex ids, printable text, branch-safe slugs."""
    assert check_branch("proposals/0a1b2c3d-add-web") == "proposals/0a1b2c3d-add-web"
    for bad in ("--upload-pack", "../x", "A", "x" * 64, "a_b"):
        with pytest.raises(ProposalInputError):
            check_resource_name(bad)
    with pytest.raises(ProposalInputError, match="8 to 32 hex"):
        check_proposal_id("--all")
    with pytest.raises(ProposalInputError, match="control characters"):
        check_text("a\x1b[2Jb", "title")
    assert check_text("line one\nline two", "reason", multiline=True)
    assert slugify("Deploy Ollama on the GPU node!") == "deploy-ollama-on-the-gpu-node"
    assert slugify("../..") == "change"
