"""Reading and writing commits through pygit2 (never through the working directory)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pygit2

from reconciler.source.errors import GitSourceError

DESIRED_DIRS = ("pools", "templates", "resources")
LAB_FILE = "homeport.yaml"


def open_repo(path: Path) -> pygit2.Repository:
    """The Git repository at path (or above it)."""
    found = pygit2.discover_repository(str(path))
    if found is None:
        raise GitSourceError(f"{path} is not inside a Git repository; create a lab with `homeport init {path}`")
    return pygit2.Repository(found)


def resolve_commit(repo: pygit2.Repository, ref: str) -> pygit2.Commit:
    """The commit a branch, tag or hash names."""
    try:
        obj = repo.revparse_single(ref)
    except (KeyError, pygit2.GitError, ValueError):
        raise GitSourceError(
            f"no commit {ref!r} in {repo.workdir or repo.path}; commit your lab first (git add -A && git commit)"
        ) from None
    commit = obj.peel(pygit2.Commit)
    return commit


def iter_desired_blobs(repo: pygit2.Repository, commit: pygit2.Commit) -> Iterator[tuple[str, str]]:
    """(path, blob id) of homeport.yaml and every *.yaml / *.yml under pools/, templates/, resources/."""
    tree = commit.tree
    if LAB_FILE in tree:
        entry = tree[LAB_FILE]
        yield LAB_FILE, str(entry.id)
    for top in DESIRED_DIRS:
        if top not in tree:
            continue
        sub = repo[tree[top].id]
        if isinstance(sub, pygit2.Tree):
            yield from _walk(repo, sub, top)


def _walk(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, str]]:
    for entry in tree:
        name = entry.name or ""
        path = f"{prefix}/{name}"
        obj_type = entry.type_str
        if obj_type == "tree":
            sub = repo[entry.id]
            if isinstance(sub, pygit2.Tree):
                yield from _walk(repo, sub, path)
        elif obj_type == "blob" and name.endswith((".yaml", ".yml")):
            yield path, str(entry.id)


def read_blob(repo: pygit2.Repository, blob_id: str) -> bytes:
    """A blob's bytes."""
    blob = repo[blob_id]
    if not isinstance(blob, pygit2.Blob):
        raise GitSourceError(f"object {blob_id} is not a file")
    return bytes(blob.data)


def read_path(repo: pygit2.Repository, commit: pygit2.Commit, path: str) -> bytes | None:
    """A file's bytes at a commit, None when absent."""
    try:
        entry = commit.tree[path]
    except KeyError:
        return None
    return read_blob(repo, str(entry.id))


def signature(name: str = "homeport", email: str = "homeport@localhost") -> pygit2.Signature:
    """A commit signature at the current time."""
    now = datetime.now(UTC)
    return pygit2.Signature(name, email, int(now.timestamp()), 0)


def commit_tree_changes(
    repo: pygit2.Repository,
    parent: pygit2.Commit | None,
    changes: dict[str, bytes | None],
    message: str,
    author: pygit2.Signature | None = None,
) -> pygit2.Oid:
    """Write a commit object = parent's tree with `changes` (path -> bytes, None deletes); refs untouched."""
    index = pygit2.Index()
    if parent is not None:
        index.read_tree(parent.tree)
    for path, data in sorted(changes.items()):
        if data is None:
            if path in index:
                index.remove(path)
            continue
        blob_id = repo.create_blob(data)
        index.add(pygit2.IndexEntry(path, blob_id, pygit2.enums.FileMode.BLOB))
    tree_id = index.write_tree(repo)
    sig = author or signature()
    parents = [parent.id] if parent is not None else []
    return repo.create_commit(None, sig, signature(), message, tree_id, parents)


@contextmanager
def scratch_writes(repo: pygit2.Repository) -> Iterator[pygit2.Repository]:
    """A second handle on repo whose new objects go to a temporary folder, deleted on exit; reads see both.

    For trial commits of read-only requests: validating a definition must not grow the lab's .git.
    """
    folder = tempfile.mkdtemp(prefix="homeport-scratch-")
    try:
        scratch = pygit2.Repository(repo.path)
        scratch.odb.add_backend(pygit2.OdbBackendLoose(folder, 1, False), 1000)
        yield scratch
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def commit_worktree(repo: pygit2.Repository, message: str, branch: str = "main") -> pygit2.Oid:
    """Stage everything in the working tree and commit it on branch (used by `homeport init`)."""
    repo.index.add_all()
    repo.index.write()
    tree_id = repo.index.write_tree()
    ref = f"refs/heads/{branch}"
    parents = [] if repo.head_is_unborn else [repo.head.target]
    sig = signature()
    return repo.create_commit(ref, sig, sig, message, tree_id, parents)


def export_tree(repo: pygit2.Repository, commit: pygit2.Commit, path: str, target: Path) -> bool:
    """Write the files under `path` at commit into target (a new folder); False when the commit has no such tree."""
    try:
        entry = commit.tree[path]
    except KeyError:
        return False
    tree = repo[entry.id]
    if not isinstance(tree, pygit2.Tree):
        return False
    target.mkdir(parents=True, exist_ok=True)
    _export(repo, tree, target)
    return True


def _export(repo: pygit2.Repository, tree: pygit2.Tree, target: Path) -> None:
    for entry in tree:
        name = entry.name or ""
        if name in ("", ".", "..") or "/" in name:
            continue
        obj = repo[entry.id]
        if isinstance(obj, pygit2.Tree):
            (target / name).mkdir(exist_ok=True)
            _export(repo, obj, target / name)
        elif isinstance(obj, pygit2.Blob) and entry.filemode != pygit2.enums.FileMode.LINK:
            (target / name).write_bytes(bytes(obj.data))


def tree_id(commit: pygit2.Commit, path: str) -> str | None:
    """The id of the tree at path in commit, None when absent."""
    try:
        return str(commit.tree[path].id)
    except KeyError:
        return None
