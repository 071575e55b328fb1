"""Sizing advice: the vendor's published figures for a service, the user's hints, and what is unknown.

Two cited tables feed it: the engine's workload profiles (reconciler/models/workload_profiles.yaml, the
defaults the reconciler itself applies, used for the `standard` tier) and this package's per-tier vendor
figures (data/vendor_requirements.yaml: minimum, small-team and larger-model numbers).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from reconciler.models.profiles import load_profiles, profile_for

DATA = Path(__file__).with_name("data") / "vendor_requirements.yaml"
TIERS = ("minimal", "standard", "high-performance")
FIELDS = ("cpu", "memory_gb", "storage_gb")


class Source(BaseModel):
    """Where a number was published."""

    id: str
    title: str
    url: str
    date: str
    quote: str = ""
    checked: bool | None = Field(default=None, description="False: the page could not be re-read when the "
                                 "figure was recorded")


class SizedField(BaseModel):
    """One recommended value and where it comes from."""

    value: float | None
    basis: str = Field(description="vendor | user | unknown")
    source: str | None = Field(default=None, description="Source id (see sources)")
    note: str | None = None


class SizingAdvice(BaseModel):
    """A recommended size, field by field, with sources; unknown fields say so."""

    service: str | None
    tier: str
    fields: dict[str, SizedField]
    gpu: bool
    sources: list[Source]
    unknown: list[str]
    alternatives: dict[str, dict[str, Any]] = Field(default_factory=dict)
    gpu_recommended: str | None = Field(default=None, description="Why a GPU is advised (with its source)")
    hints_used: list[str] = Field(default_factory=list, description="How each sizing hint changed the advice")
    to_measure: dict[str, str] = Field(default_factory=dict, description="For each field without a published "
                                       "figure: what to measure to size it")


# Workloads homeport treats as stateless services (replicas share nothing): high availability by replicas.
STATELESS = {"web-app", "web", "api", "frontend"}
GPU_WORKLOADS = {"llm-inference", "ai-inference", "ollama"}
# What to measure when no source publishes a figure (the answer is never a bare "unknown").
MEASURE = {
    "cpu": "no published figure: start with 2 vCPU and measure CPU use at peak (and, for CI, the build queue "
           "wait); add cores when it stays above 80%",
    "memory_gb": "no published figure: watch resident memory at peak and keep 25% headroom",
    "storage_gb": "no published figure: measure data growth per week and size for a year plus backups",
}


def profile_stateless(workload: str) -> bool:
    """Whether the workload is a stateless service (its profile or its own name is in STATELESS)."""
    profile = profile_for(workload)
    return workload in STATELESS or (profile is not None and profile.name in STATELESS)


def _model_params_billion(model: str) -> float | None:
    """7 from 'llama2:7b', 13 from 'codellama:13b', None when the tag names no size."""
    import re

    found = re.search(r"(\d+(?:\.\d+)?)b\b", model.lower())
    return float(found.group(1)) if found else None


def _apply_hints(service: str | None, workload: str, hints: dict[str, Any],
                 fields: dict[str, SizedField], used: set[str]) -> list[str]:
    """Hints (developers, users, models, requests_per_second) turned into cited figures where a source has one."""
    notes: list[str] = []
    profile = profile_for(workload)
    kind = service or (profile.name if profile else workload)
    devs = hints.get("developers", hints.get("users"))
    if kind in ("jenkins", "ci-server") and isinstance(devs, int | float):
        if devs <= 10:
            for name, value in (("memory_gb", 4.0), ("storage_gb", 50.0)):
                if fields[name].basis != "user":
                    fields[name] = SizedField(value=value, basis="hint", source="jenkins-install-linux",
                                              note=f"{devs:g} developers is a small team: the vendor's small-team "
                                                   "figure")
            used.add("jenkins-install-linux")
            notes.append(f"developers={devs:g}: Jenkins's 'small team' recommendation applies (4 GB+, 50 GB+); "
                         "Jenkins publishes no CPU figure per developer: count concurrent builds x cores each")
        else:
            notes.append(f"developers={devs:g}: no published figure beyond 'a small team'; run builds on agents, "
                         "not the controller, and size agents by measured build CPU x concurrent builds")
    models = hints.get("models")
    if kind in ("ollama", "llm-inference") and models:
        names = [models] if isinstance(models, str) else [str(m) for m in models] if isinstance(models, list) \
            else []
        sizes = [p for p in (_model_params_billion(m) for m in names) if p]
        if sizes:
            biggest = max(sizes)
            memory = 8.0 if biggest <= 8 else 16.0 if biggest <= 13 else 32.0 if biggest <= 34 else None
            if memory is not None and fields["memory_gb"].basis != "user":
                fields["memory_gb"] = SizedField(value=memory, basis="hint", source="ollama-readme",
                                                 note=f"largest model {biggest:g}B")
                used.add("ollama-readme")
            weights = round(sum(p * 4.85 / 8 for p in sizes) + 4, 1)
            if fields["storage_gb"].basis != "user":
                fields["storage_gb"] = SizedField(value=weights, basis="hint", source="profile:model-memory-formula",
                                                  note="the models at Q4 (params x 4.85 bits / 8) plus the OS's "
                                                       "4 GB")
                used.add("profile:model-memory-formula")
            notes.append(f"models={names}: memory from Ollama's 7B/13B/33B table, disk from the Q4 size formula"
                         + ("" if memory is not None else "; above 33B Ollama publishes no RAM figure: "
                            "measure the loaded model's resident size"))
        else:
            notes.append(f"models={names}: no size in the tags (such as ':13b'); name the sizes to size memory")
    for key in ("requests_per_second", "rps", "concurrent_users"):
        if key in hints:
            notes.append(f"{key}={hints[key]}: no published figure links it to cores or memory for "
                         f"{kind}; load-test one replica, measure its peak rate at 70% CPU, divide")
    return notes


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    return data


def known_services() -> list[str]:
    """Services with published figures."""
    return sorted(_data()["services"])


def service_for(workload: str) -> str | None:
    """The service a workload name refers to (name or alias), if the data knows it."""
    key = workload.strip().lower()
    services = _data()["services"]
    if key in services:
        return key
    for name, entry in services.items():
        if key in entry.get("aliases", []):
            return str(name)
    return None


def source(source_id: str) -> Source:
    """A cited source by id (profile sources are prefixed 'profile:')."""
    if source_id.startswith("profile:"):
        ref = load_profiles().sources[source_id.removeprefix("profile:")]
        return Source(id=source_id, title=ref.title, url=ref.url, date=ref.date, quote=ref.quote,
                      checked=ref.checked)
    entry = _data()["sources"][source_id]
    return Source(id=source_id, **entry)


def advise_size(workload: str, tier: str = "standard", hints: dict[str, Any] | None = None,
                gpu: bool = False) -> SizingAdvice:
    """Recommended cpu/memory/storage: the user's hints win, then the vendor's figure for the tier."""
    hints = hints or {}
    service = service_for(workload)
    entry = _data()["services"].get(service, {}) if service else {}
    tier_data = dict(entry.get(tier) or {})
    profile = profile_for(workload) or (profile_for(service) if service else None)
    profile_fields: dict[str, tuple[float, str, str]] = {}
    if profile is not None and tier == "standard":
        for name in FIELDS:
            item = getattr(profile, name)
            if item is not None:
                profile_fields[name] = (float(item.value), f"profile:{item.source}", item.note)
        service = service or profile.name
    fields: dict[str, SizedField] = {}
    used: set[str] = set()
    for name in FIELDS:
        hint = hints.get(name) if name != "cpu" else hints.get("cpu", hints.get("cores"))
        if isinstance(hint, int | float) and not isinstance(hint, bool):
            fields[name] = SizedField(value=float(hint), basis="user")
        elif name in tier_data:
            fields[name] = SizedField(value=float(tier_data[name]), basis="vendor", source=tier_data["source"],
                                      note=tier_data.get("note"))
            used.add(tier_data["source"])
        elif name in profile_fields:
            value, src, note = profile_fields[name]
            fields[name] = SizedField(value=value, basis="vendor", source=src, note=note or None)
            used.add(src)
        else:
            fields[name] = SizedField(value=None, basis="unknown",
                                      note=f"no published {name} figure for {service or workload!r} at tier "
                                           f"{tier}; {MEASURE[name]}")
    hints_used = _apply_hints(service, workload, hints, fields, used)
    alternatives = {t: {k: v for k, v in entry[t].items() if k in FIELDS or k == "note"}
                    for t in TIERS if t != tier and t in entry}
    for t in TIERS:
        if t in entry:
            used.add(entry[t]["source"])
    unknown = [n for n, f in fields.items() if f.value is None]
    profile_name = profile.name if profile is not None else None
    gpu_why = None
    if workload in GPU_WORKLOADS or service in GPU_WORKLOADS or profile_name in GPU_WORKLOADS:
        gpu_why = ("LLM inference is GPU-bound when a GPU is present; without one Ollama runs on CPU, several times "
                   "slower (no published ratio: measure tokens/s with `ollama run --verbose` on both)")
    return SizingAdvice(service=service, tier=tier, fields=fields, gpu=gpu, sources=[source(s) for s in sorted(used)],
                        unknown=unknown, alternatives=alternatives, gpu_recommended=gpu_why, hints_used=hints_used,
                        to_measure={n: MEASURE[n] for n in unknown})
