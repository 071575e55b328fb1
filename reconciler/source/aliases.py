"""The architecture document's spellings, read as homeport's: apiVersion homelab.mcp/v1 (for
homelab.ai/v1) and the requirement names `cores` (cpu) and `gpu_passthrough` (gpu). `homeport validate`
notes every file still using them (deprecated: write homeport's names)."""

from __future__ import annotations

from typing import Any

DOCUMENT_API_VERSION = "homelab.mcp/v1"
REQUIREMENT_ALIASES = {"cores": "cpu", "gpu_passthrough": "gpu"}


def _requirements(reqs: Any) -> Any:
    if not isinstance(reqs, dict):
        return reqs
    out = {k: v for k, v in reqs.items() if k not in REQUIREMENT_ALIASES}
    for old, new in REQUIREMENT_ALIASES.items():
        if old in reqs and new not in reqs:
            out[new] = bool(reqs[old]) if new == "gpu" and isinstance(reqs[old], bool) else reqs[old]
    return out


def map_document(doc: dict[str, Any], api_version: str) -> dict[str, Any]:
    """The document with the architecture document's spellings replaced by homeport's."""
    out = dict(doc)
    out["apiVersion"] = api_version
    spec = out.get("spec")
    if isinstance(spec, dict):
        spec = dict(spec)
        if "requirements" in spec:
            spec["requirements"] = _requirements(spec["requirements"])
        resources = spec.get("resources")
        if isinstance(resources, dict) and "requirements" in resources:
            spec["resources"] = {**resources, "requirements": _requirements(resources["requirements"])}
        out["spec"] = spec
    return out


def _old_requirements(reqs: Any) -> bool:
    return isinstance(reqs, dict) and any(k in reqs for k in REQUIREMENT_ALIASES)


def uses_document_spellings(text: str) -> bool:
    """Whether a file uses the deprecated spellings (for `homeport validate`'s note)."""
    import yaml

    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return False
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if doc.get("apiVersion") == DOCUMENT_API_VERSION:
            return True
        spec = doc.get("spec")
        if isinstance(spec, dict):
            resources = spec.get("resources")
            if _old_requirements(spec.get("requirements")) or (
                    isinstance(resources, dict) and _old_requirements(resources.get("requirements"))):
                return True
    return False
