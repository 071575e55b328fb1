"""A ProviderState in a dict for the observe benchmarks (a bench keeps nothing between runs)."""

from __future__ import annotations

from typing import Any


class MemoryState:
    """ProviderState in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        """Value or None."""
        return self.data.get(key)

    def put(self, key: str, value: Any) -> None:
        """Store."""
        self.data[key] = value

    def delete(self, key: str) -> None:
        """Forget."""
        self.data.pop(key, None)

    def items(self, prefix: str = "") -> dict[str, Any]:
        """By prefix."""
        return {k: v for k, v in self.data.items() if k.startswith(prefix)}
