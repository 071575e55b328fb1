"""Writing rendered files under rendered-configs/<resource>/<chart>/, atomically per resource."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from reconciler.render.errors import RenderError


def _check_inside(out_dir: Path, resource: str, chart: str) -> None:
    """RenderError when rendered-configs (or a folder in it) is a link or leads outside the lab: nothing is written."""
    for part in (resource, chart):
        if not part or part in (".", "..") or "/" in part or "\\" in part:
            raise RenderError(resource, chart, f"{part!r} cannot name a folder under {out_dir.name}")
    lab_dir = out_dir.parent.resolve()
    for path in (out_dir, out_dir / resource, out_dir / resource / chart):
        if path.is_symlink():
            raise RenderError(resource, chart,
                f"{path} is a symbolic link: homeport writes rendered files only inside the lab; "
                f"remove the link (and stop committing {out_dir.name}/)"
            )
    if out_dir.exists() and not out_dir.resolve().is_relative_to(lab_dir):
        raise RenderError(resource, chart, f"{out_dir} leads outside the lab ({out_dir.resolve()})")


def write_rendered(out_dir: Path, resource: str, chart: str, files: dict[str, str]) -> Path:
    """Replace the resource's rendered folder with these files; return its path (never through a link)."""
    _check_inside(out_dir, resource, chart)
    target = out_dir / resource / chart
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_inside(out_dir, resource, chart)  # again after creating: nothing swapped in a link meanwhile
    staging = Path(tempfile.mkdtemp(prefix=f".{chart}-", dir=target.parent))
    try:
        for name, text in files.items():
            path = (staging / name).resolve()
            if not path.is_relative_to(staging.resolve()):
                raise RenderError(resource, chart, f"output {name!r} escapes its folder")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{chart}-old-{os.getpid()}")
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
