"""Workload profiles (workload_profiles.yaml): cited sizing defaults per workload type."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

PROFILES_FILE = Path(__file__).resolve().parent / "workload_profiles.yaml"
SIZED_FIELDS = ("cpu", "memory_gb", "storage_gb")


class ProfileSource(BaseModel):
    """Where a profile's number comes from."""

    title: str
    url: str
    date: str
    quote: str
    checked: bool = Field(default=False, description="False when the page could not be re-read while building")


class ProfileValue(BaseModel):
    """One sizing default and its source."""

    value: float
    source: str
    note: str = ""


class ProfileImage(BaseModel):
    """The container image a workload type runs when a container provider's definition names none."""

    name: str
    source: str
    note: str = ""
    port: int | None = Field(default=None, ge=1, le=65535, description="The port the image serves on (same source)")


class WorkloadProfile(BaseModel):
    """Sizing defaults of one workload type (fields it does not know stay None)."""

    name: str
    aliases: list[str] = Field(default_factory=list)
    cpu: ProfileValue | None = None
    memory_gb: ProfileValue | None = None
    storage_gb: ProfileValue | None = None
    image: ProfileImage | None = None

    def requirements(self) -> dict[str, Any]:
        """The defaults as a partial Requirements mapping (only the fields the profile sets)."""
        out: dict[str, Any] = {}
        for field in SIZED_FIELDS:
            item: ProfileValue | None = getattr(self, field)
            if item is not None:
                out[field] = int(item.value) if field == "cpu" else item.value
        return out


class ProfileTable(BaseModel):
    """The whole data file: sources and profiles."""

    sources: dict[str, ProfileSource]
    profiles: dict[str, WorkloadProfile]


@cache
def load_profiles(path: Path = PROFILES_FILE) -> ProfileTable:
    """Read and check the data file: every number must name a known source."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    sources = {key: ProfileSource(**value) for key, value in raw["sources"].items()}
    profiles = {name: WorkloadProfile(name=name, **(spec or {})) for name, spec in raw["profiles"].items()}
    for profile in profiles.values():
        for field in SIZED_FIELDS:
            item = getattr(profile, field)
            if item is not None and item.source not in sources:
                raise ValueError(f"{path}: {profile.name}.{field} cites unknown source {item.source!r}")
        if profile.image is not None and profile.image.source not in sources:
            raise ValueError(f"{path}: {profile.name}.image cites unknown source {profile.image.source!r}")
    return ProfileTable(sources=sources, profiles=profiles)


def profile_for(workload_type: str) -> WorkloadProfile | None:
    """The profile of a workload type or one of its aliases; None for unknown types."""
    table = load_profiles()
    if workload_type in table.profiles:
        return table.profiles[workload_type]
    for profile in table.profiles.values():
        if workload_type in profile.aliases:
            return profile
    return None


def profile_requirements(workload_type: str) -> dict[str, Any]:
    """The sizing defaults a workload type brings (empty when it has no profile)."""
    profile = profile_for(workload_type)
    return profile.requirements() if profile is not None else {}


def profile_port(workload_type: str) -> int | None:
    """The port a workload type's profile image serves on (None: not stated)."""
    profile = profile_for(workload_type)
    return profile.image.port if profile is not None and profile.image is not None else None


def profile_image(workload_type: str) -> str | None:
    """The image a workload type's profile names, for docker and kubernetes definitions without one."""
    profile = profile_for(workload_type)
    return profile.image.name if profile is not None and profile.image is not None else None
