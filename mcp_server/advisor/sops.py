"""Standard operating procedures: Markdown files with fixed sections, served as tools and MCP resources."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SOP_DIR = Path(__file__).with_name("sops")
_HEADING = re.compile(r"^## (.+)$", re.MULTILINE)


@cache
def sop_names() -> tuple[str, ...]:
    """Names of the SOP files (without .md)."""
    return tuple(sorted(p.stem for p in SOP_DIR.glob("*.md")))


def sop_text(name: str) -> str:
    """The Markdown of one SOP."""
    if name not in sop_names():
        raise KeyError(name)
    return (SOP_DIR / f"{name}.md").read_text(encoding="utf-8")


def sop_sections(name: str) -> dict[str, str]:
    """Sections of an SOP by their '## ' heading, lower-case with '-' for spaces."""
    text = sop_text(name)
    parts = _HEADING.split(text)
    sections: dict[str, str] = {"title": parts[0].strip().lstrip("# ").strip()}
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[heading.strip().lower().replace(" ", "-")] = body.strip()
    return sections


def find_sop(service: str) -> str | None:
    """The SOP for a service (exact name, or a file whose name contains it)."""
    key = service.strip().lower()
    if key in sop_names():
        return key
    for name in sop_names():
        if name.startswith("deploy-") and name.removeprefix("deploy-") == key:
            return name
    return None
