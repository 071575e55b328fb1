"""Regenerate the settings reference section of every docs/providers/<type>.md from the code
(reconciler/providers/reference.py). Run by `make docs`; tests/deploy/test_provider_docs.py checks it."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.providers.reference import with_reference  # noqa: E402
from reconciler.providers.registry import PROVIDER_MODULES  # noqa: E402


def main() -> None:
    """Rewrite each provider page whose section differs."""
    for provider_type in sorted(PROVIDER_MODULES):
        page = ROOT / "docs" / "providers" / f"{provider_type}.md"
        if not page.exists():
            continue
        text = page.read_text(encoding="utf-8")
        new = with_reference(text, provider_type)
        if new != text:
            page.write_text(new, encoding="utf-8")
            print(f"updated {page.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
