"""The playbook to run, from a chart's rendered artifacts (written to disk when they are not already)."""

from __future__ import annotations

from pathlib import Path

from reconciler.providers.base import RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError

PLAYBOOK_NAMES = ("playbook.yml", "playbook.yaml", "site.yml")


def playbook_path(artifacts: RenderedArtifacts, work_dir: Path) -> Path | None:
    """Path of the artifacts' playbook (files written under work_dir if not on disk yet); None if none."""
    name = next((n for n in PLAYBOOK_NAMES if n in artifacts.files), None)
    if name is None:
        return None
    if artifacts.directory is not None and (artifacts.directory / name).is_file():
        return artifacts.directory / name
    target = work_dir / "artifacts" / artifacts.chart
    for rel, text in artifacts.files.items():
        path = (target / rel).resolve()
        if not path.is_relative_to(target.resolve()):
            raise PermanentProviderError(
                f"ansible: artifact path {rel!r} of chart {artifacts.chart} escapes its folder"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target / name
