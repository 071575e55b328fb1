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
        elif name in profile_fields:
            value, src, note = profile_fields[name]
            fields[name] = SizedField(value=value, basis="vendor", source=src, note=note or None)
            used.add(src)
        elif name in tier_data:
            fields[name] = SizedField(value=float(tier_data[name]), basis="vendor", source=tier_data["source"],
                                      note=tier_data.get("note"))
            used.add(tier_data["source"])
        else:
            fields[name] = SizedField(value=None, basis="unknown",
                                      note=f"no published {name} figure for {service or workload!r} at tier {tier}")
    alternatives = {t: {k: v for k, v in entry[t].items() if k in FIELDS or k == "note"}
                    for t in TIERS if t != tier and t in entry}
    for t in TIERS:
        if t in entry:
            used.add(entry[t]["source"])
    unknown = [n for n, f in fields.items() if f.value is None]
    return SizingAdvice(service=service, tier=tier, fields=fields, gpu=gpu, sources=[source(s) for s in sorted(used)],
                        unknown=unknown, alternatives=alternatives)
