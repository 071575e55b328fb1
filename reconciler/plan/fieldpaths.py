"""Matching field paths against rule globs ('disks[data].size_gb' matches 'disks.size_gb')."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from functools import lru_cache

_KEYED = re.compile(r"\[[^\]]*\]")


def rule_path(path: str) -> str:
    """A field path with keyed-list selectors removed: 'disks[data].size_gb' -> 'disks.size_gb'."""
    return _KEYED.sub("", path)


def matches(path: str, patterns: list[str]) -> bool:
    """Whether path (or its rule form) matches any glob."""
    return bool(patterns) and _matches(path, tuple(patterns))


@lru_cache(maxsize=65536)
def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    plain = rule_path(path)
    return any(fnmatchcase(path, p) or fnmatchcase(plain, p) for p in patterns)
