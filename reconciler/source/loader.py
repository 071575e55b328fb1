"""Loading a commit's desired state: PyYAML's C loader in bulk, a cache keyed by blob id, clear errors."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2
import yaml
from pydantic import BaseModel, ValidationError

from reconciler.models.desired import DesiredState, SourceRef
from reconciler.models.lab import Lab
from reconciler.models.limits import current_limits
from reconciler.models.meta import API_VERSION, check_dns_label
from reconciler.models.pool import ResourcePool
from reconciler.models.resource import UniversalResource
from reconciler.models.template import DeploymentTemplate
from reconciler.models.yaml12 import YamlLimitExceeded, load_documents
from reconciler.source.aliases import DOCUMENT_API_VERSION, map_document
from reconciler.source.errors import DesiredStateError, SourceIssue
from reconciler.source.gitrepo import LAB_FILE, iter_desired_blobs, read_blob
from reconciler.source.resolve import resolve
from reconciler.source.yamlpos import field_line

KINDS: dict[str, type[BaseModel]] = {
    "Lab": Lab,
    "ResourcePool": ResourcePool,
    "DeploymentTemplate": DeploymentTemplate,
    "UniversalResource": UniversalResource,
}

@dataclass
class ParsedBlob:
    """The typed objects of one blob, or its issues."""

    objects: list[tuple[int, BaseModel]]
    issues: list[SourceIssue]
    raw: list[Any] | None = None


class LoadCache:
    """Parsed blobs by blob id, and resolved states by commit id: unchanged files are never re-parsed."""

    def __init__(self, max_states: int = 4, disk: Path | None = None) -> None:
        self.blobs: dict[tuple[str, str], ParsedBlob] = {}
        self.states: dict[str, DesiredState] = {}
        self.max_states = max_states
        self.parsed = 0
        self.disk = disk
        self._disk_docs: dict[str, list[Any]] | None = None
        self._fresh_docs: dict[str, list[Any]] = {}

    def cached_docs(self, blob_id: str) -> list[Any] | None:
        """YAML documents of a blob parsed by an earlier process (content-addressed, so never stale)."""
        if self.disk is None:
            return None
        if self._disk_docs is None:
            try:
                loaded = json.loads(self.disk.read_text(encoding="utf-8"))
                self._disk_docs = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._disk_docs = {}
        return self._disk_docs.get(blob_id)

    def remember_docs(self, blob_id: str, docs: list[Any]) -> None:
        """Keep a blob's parsed documents for the next process, when JSON holds them exactly."""
        if self.disk is None:
            return
        try:
            if json.loads(json.dumps(docs)) != docs:
                return  # e.g. integer keys or dates: JSON would change them
        except (TypeError, ValueError):
            return
        self._fresh_docs[blob_id] = docs

    def flush(self, live: set[str]) -> None:
        """Write the on-disk parse cache: the blobs of the commit just loaded; then drop it from memory."""
        if self.disk is None or not self._fresh_docs:
            self._disk_docs = None
            return
        merged = {k: v for k, v in (self._disk_docs or {}).items() if k in live}
        merged.update({k: v for k, v in self._fresh_docs.items() if k in live})
        self._disk_docs = merged
        self._fresh_docs = {}
        self._disk_docs = None  # read again only when a later commit brings new blobs
        try:
            self.disk.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".parse-cache-", dir=self.disk.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(merged, f, separators=(",", ":"))
            os.replace(tmp, self.disk)
        except OSError:
            pass  # a cache that cannot be written only costs a re-parse next time

    def remember_state(self, commit_id: str, state: DesiredState) -> None:
        """Keep the resolved state of a commit (a few at most)."""
        if len(self.states) >= self.max_states:
            self.states.pop(next(iter(self.states)))
        self.states[commit_id] = state


def parse_blob(path: str, data: bytes, docs: list[Any] | None = None) -> ParsedBlob:
    """YAML -> typed kinds; every issue with file, line and field. `docs`: already parsed documents."""
    limits = current_limits()
    if len(data) > limits.yaml_file_bytes:
        return ParsedBlob([], [SourceIssue(path, str(YamlLimitExceeded("yaml_file_bytes", limits.yaml_file_bytes,
                                                                       f"the file has {len(data):,} bytes")))])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParsedBlob([], [SourceIssue(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})")])
    try:
        if docs is None:
            docs = load_documents(text, limits)
    except YamlLimitExceeded as exc:
        return ParsedBlob([], [SourceIssue(path, str(exc), line=exc.line)])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return ParsedBlob(
            [],
            [SourceIssue(path, f"malformed YAML: {exc.problem or exc.context}", line=mark.line + 1 if mark else None)],
        )
    except yaml.YAMLError as exc:
        return ParsedBlob([], [SourceIssue(path, f"malformed YAML: {exc}")])
    objects: list[tuple[int, BaseModel]] = []
    issues: list[SourceIssue] = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            issues.append(
                SourceIssue(
                    path,
                    f"document {index + 1} is a {type(doc).__name__}, expected a mapping "
                    "with apiVersion, kind, metadata and spec",
                    line=field_line(text, index, []),
                )
            )
            continue
        api_version = doc.get("apiVersion")
        if api_version == DOCUMENT_API_VERSION:  # the architecture document's name (validate notes it)
            doc = map_document(doc, API_VERSION)
            api_version = API_VERSION
        if api_version != API_VERSION:
            issues.append(
                SourceIssue(
                    path,
                    f"unknown apiVersion {api_version!r}; use {API_VERSION}",
                    line=field_line(text, index, ["apiVersion"]),
                    field="apiVersion",
                )
            )
            continue
        kind = doc.get("kind")
        model = KINDS.get(str(kind))
        if model is None:
            issues.append(
                SourceIssue(
                    path,
                    f"unknown kind {kind!r}; use one of {', '.join(KINDS)}",
                    line=field_line(text, index, ["kind"]),
                    field="kind",
                )
            )
            continue
        try:
            objects.append((index, model.model_validate(doc)))
        except ValidationError as exc:
            for err in exc.errors():
                loc = [
                    p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-union")))
                ]
                loc = [p for p in loc if p not in ("int", "float", "str", "bool", "list[str]")]
                field = ".".join(str(p) for p in loc) or None
                message = err["msg"]
                if err["type"] == "extra_forbidden":
                    message = "unknown field (check its spelling and indentation)"
                elif err["type"] == "missing":
                    message = "required field is missing"
                issues.append(SourceIssue(path, message, line=field_line(text, index, loc), field=field))
    return ParsedBlob(objects, issues, docs)


def load_commit(repo: pygit2.Repository, commit: pygit2.Commit, cache: LoadCache | None = None) -> DesiredState:
    """The validated, resolved desired state of a commit; DesiredStateError lists every issue."""
    cache = cache or LoadCache()
    commit_id = str(commit.id)
    if commit_id in cache.states:
        return cache.states[commit_id]
    issues: list[SourceIssue] = []
    lab: Lab | None = None
    lab_seen = False
    buckets: dict[str, dict[str, Any]] = {"ResourcePool": {}, "DeploymentTemplate": {}, "UniversalResource": {}}
    sources: dict[tuple[str, str], SourceRef] = {}
    texts: dict[str, str] = {}
    live_blobs: set[str] = set()
    for path, blob_id in iter_desired_blobs(repo, commit):
        key = (path, blob_id)
        live_blobs.add(blob_id)
        parsed = cache.blobs.get(key)
        if parsed is None:
            data = read_blob(repo, blob_id)
            docs = cache.cached_docs(blob_id)
            parsed = parse_blob(path, data, docs)
            if docs is None and not parsed.issues and parsed.raw is not None:
                cache.remember_docs(blob_id, parsed.raw)
            parsed.raw = None
            cache.blobs[key] = parsed
            cache.parsed += 1
        issues.extend(parsed.issues)
        for index, obj in parsed.objects:
            kind = obj.kind  # type: ignore[attr-defined]
            name = obj.metadata.name  # type: ignore[attr-defined]
            if kind == "Lab":
                if path != LAB_FILE:
                    issues.append(SourceIssue(path, f"the Lab belongs in {LAB_FILE}", field="kind"))
                elif lab_seen:
                    issues.append(SourceIssue(path, "more than one Lab in homeport.yaml", field="kind"))
                lab_seen = True
                lab = obj  # type: ignore[assignment]
                sources[("Lab", name)] = SourceRef(path, index)
                continue
            if name in buckets[kind]:
                first = sources[(kind, name)]
                text = texts.get(path) or read_blob(repo, blob_id).decode("utf-8", "replace")
                issues.append(
                    SourceIssue(
                        path,
                        f"duplicate {kind} name {name!r} (first declared in {first.file})",
                        line=field_line(text, index, ["metadata", "name"]),
                        field="metadata.name",
                    )
                )
                continue
            buckets[kind][name] = obj
            sources[(kind, name)] = SourceRef(path, index)
    cache.flush(live_blobs)
    if lab is None and not lab_seen:
        issues.append(SourceIssue(LAB_FILE, "missing: every lab needs a homeport.yaml with kind: Lab"))
    if issues or lab is None:
        raise DesiredStateError(issues, commit_id)
    state = DesiredState(
        revision=commit_id,
        lab=lab,
        pools=buckets["ResourcePool"],
        templates=buckets["DeploymentTemplate"],
        resources=buckets["UniversalResource"],
        sources=sources,
    )

    def locate(kind: str, name: str, field_path: list[str | int]) -> SourceIssue:
        ref = state.sources[(kind, name)]
        blob_text = _text_at(repo, commit, ref.file)
        return SourceIssue(
            ref.file, "", line=field_line(blob_text, ref.doc, field_path), field=".".join(str(p) for p in field_path)
        )

    resolve_issues = resolve(state, locate)
    if resolve_issues:
        raise DesiredStateError(resolve_issues, commit_id)
    cache.remember_state(commit_id, state)
    return state


def lab_name_at(repo: pygit2.Repository, commit: pygit2.Commit) -> str | None:
    """metadata.name of homeport.yaml at commit, read on its own: known even when other files are invalid."""
    try:
        data = read_blob(repo, str(commit.tree[LAB_FILE].id))
        docs = load_documents(data.decode("utf-8"))
    except (KeyError, UnicodeDecodeError, yaml.YAMLError, ValueError):
        return None
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "Lab" and isinstance(doc.get("metadata"), dict):
            name = doc["metadata"].get("name")
            try:
                return check_dns_label(name) if isinstance(name, str) else None
            except ValueError:
                return None
    return None


def _text_at(repo: pygit2.Repository, commit: pygit2.Commit, path: str) -> str:
    entry = commit.tree[path]
    return read_blob(repo, str(entry.id)).decode("utf-8", "replace")
