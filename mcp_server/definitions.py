"""Universal definitions as agents send them: a whole document or just its spec, checked like Git's files."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from mcp_server.toolspec import AgentError
from reconciler.models.desired import DesiredState
from reconciler.models.meta import API_VERSION
from reconciler.models.resource import UniversalResource
from reconciler.service import edits
from reconciler.service.edits import check_resource_name
from reconciler.service.views import ProposalView

DOCUMENT_API_ALIASES = ("homelab.mcp/v1",)


def map_document_fields(definition: dict[str, Any]) -> dict[str, Any]:
    """The architecture document's spellings mapped to homeport's: apiVersion homelab.mcp/v1, requirements
    `cores` (cpu) and `gpu_passthrough` (gpu), `resources.requirements` / `resources.pool_path`."""
    doc = dict(definition)
    if doc.get("apiVersion") in DOCUMENT_API_ALIASES:
        doc["apiVersion"] = API_VERSION
    spec = dict(doc["spec"]) if isinstance(doc.get("spec"), dict) else None
    target = spec if spec is not None else doc
    resources = target.pop("resources", None)
    if isinstance(resources, dict):
        if isinstance(resources.get("requirements"), dict):
            target.setdefault("requirements", resources["requirements"])
        if isinstance(resources.get("pool_path"), str):
            target.setdefault("pool", resources["pool_path"])
    reqs = target.get("requirements")
    if isinstance(reqs, dict):
        reqs = dict(reqs)
        if "cores" in reqs:
            reqs.setdefault("cpu", reqs.pop("cores"))
            reqs.pop("cores", None)
        if "gpu_passthrough" in reqs:
            reqs.setdefault("gpu", bool(reqs.pop("gpu_passthrough")))
            reqs.pop("gpu_passthrough", None)
        target["requirements"] = reqs
    if spec is not None:
        doc["spec"] = spec
    return doc


def as_document(definition: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """A full UniversalResource document from either a document or a bare spec (+ name)."""
    definition = map_document_fields(definition)
    if "spec" in definition or "kind" in definition:
        doc = dict(definition)
        doc.setdefault("apiVersion", API_VERSION)
        doc.setdefault("kind", "UniversalResource")
        meta = dict(doc.get("metadata") or {})
        if name:
            meta["name"] = name
        doc["metadata"] = meta
    else:
        spec = dict(definition)
        spec_name = name or spec.pop("name", None)
        labels = spec.pop("labels", None)
        meta = {"name": spec_name}
        if labels:
            meta["labels"] = labels
        doc = {"apiVersion": API_VERSION, "kind": "UniversalResource", "metadata": meta, "spec": spec}
    if not doc["metadata"].get("name"):
        raise AgentError("the definition has no name: set metadata.name (or pass instance_name), "
                         "a DNS-1123 label such as 'jenkins-prod'")
    check_resource_name(str(doc["metadata"]["name"]), "name")
    return doc


def validate_definition(doc: dict[str, Any]) -> UniversalResource:
    """The typed resource, or AgentError listing each field that is wrong and what is expected."""
    if doc.get("kind") != "UniversalResource":
        raise AgentError(f"kind {doc.get('kind')!r} is not supported here; send kind: UniversalResource")
    try:
        return UniversalResource.model_validate(doc)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
            msg = "unknown field (check its spelling)" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{loc}: {msg}")
        raise AgentError("the universal definition is invalid: " + "; ".join(problems)) from None


def check_pool(state: DesiredState, pool_path: str) -> None:
    """AgentError naming the known pool paths when pool_path is not one of them."""
    if state.pool_by_path(pool_path) is None:
        paths = sorted(p.spec.path for p in state.pools.values())
        raise AgentError(f"no pool at {pool_path!r}; use one of: {', '.join(paths)} (see query-resource-pools)")


class ProposalSummary(BaseModel):
    """What a proposing tool returns: the proposal to show the person who will review it."""

    proposal_id: str
    branch: str
    title: str
    status: str
    risk: str
    counts: dict[str, int] = Field(default_factory=dict)
    changes: list[dict[str, Any]] = Field(default_factory=list, description="Actionable changes of the plan preview")
    files: list[str] = Field(default_factory=list)
    forge_url: str | None = None
    next_step: str = ""

    @classmethod
    def of(cls, p: ProposalView) -> ProposalSummary:
        """The summary of a stored proposal."""
        step = (f"a person reviews it: `homeport proposals show {p.id}` then `homeport proposals approve {p.id}`; "
                "the reconciler applies it after the merge")
        if p.status == "merged":
            step = "merged by the lab's auto-merge policy; the next reconcile applies it"
        return cls(proposal_id=p.id, branch=p.branch, title=p.title, status=p.status, risk=p.risk,
                   counts={k: v for k, v in p.plan.get("counts", {}).items() if v and k != "noop"},
                   changes=p.plan.get("changes", []), files=p.files, forge_url=p.forge_url, next_step=step)


def trial_state(app: Any, changes: dict[str, bytes | None], *, keep: bool = False) -> tuple[DesiredState, str]:
    """The desired state main would have with these edits (an unreferenced commit; no ref moves); keep=False
    writes the trial commit to a scratch object store that is deleted afterwards (see service.edits.trial)."""
    trial = edits.trial(app.service, changes, keep=keep)
    return trial.state, trial.commit


def resource_doc_edit(app: Any, state: DesiredState, doc: dict[str, Any],
                      header: str | None = None) -> tuple[str, bytes]:
    """(path, bytes) of a new resource file for a validated document."""
    resource = validate_definition(doc)
    check_pool(state, resource.spec.pool)
    spec = resource.spec.model_dump(mode="json", exclude_defaults=True)
    return edits.new_object(state, "UniversalResource", resource.name, spec, labels=resource.metadata.labels or None,
                            header=header)


def retarget(state: DesiredState, doc: dict[str, Any], provider: str | None) -> dict[str, Any]:
    """The document moved to a pool of `provider` (instance name or type) unless its pool already is one."""
    from mcp_server.advisor.placement import pool_nodes

    if not provider:
        return doc
    configs = state.lab.spec.providers
    if provider not in configs and provider not in {c.type for c in configs.values()}:
        raise AgentError(f"unknown provider {provider!r}; this lab has: "
                         + ", ".join(f"{n} ({c.type})" for n, c in sorted(configs.items())))

    def matches(path: str) -> bool:
        name = pool_nodes(state, path)[0]
        return name == provider or (name in configs and configs[name].type == provider)

    spec = doc.setdefault("spec", {})
    current = spec.get("pool")
    if isinstance(current, str) and state.pool_by_path(current) is not None and matches(current):
        return doc
    pools = sorted(p.spec.path for p in state.pools.values() if matches(p.spec.path))
    leaf = [p for p in pools if not any(o != p and o.startswith(p + "/") for o in pools)]
    if not leaf:
        raise AgentError(f"no pool of the lab uses provider {provider!r}; add a pool for it first")
    reqs = spec.get("requirements") if isinstance(spec.get("requirements"), dict) else {}
    wants_gpu = bool((reqs or {}).get("gpu"))

    def gpu_pool(path: str) -> bool:
        pool = state.pool_by_path(path)
        dims = pool.spec.dimensions if pool else {}
        return bool(pool and ("gpu" in path.rsplit("/", 1)[-1]
                              or any(str(v).lower() == "gpu" or ("gpu" in k and v is True) for k, v in dims.items())))

    # a workload without a GPU goes to a pool without GPUs when there is one (GPU nodes stay free for GPU work),
    # a GPU workload to a GPU pool; then the most specific (leaf) pool
    spec["pool"] = sorted(pools, key=lambda path: (gpu_pool(path) != wants_gpu, path not in leaf, path))[0]
    return doc
