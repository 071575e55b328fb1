"""Writing rendered files under rendered-configs/<resource>/<chart>/, atomically per resource."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_rendered(out_dir: Path, resource: str, chart: str, files: dict[str, str]) -> Path:
    """Replace the resource's rendered folder with these files; return its path."""
    target = out_dir / resource / chart
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{chart}-", dir=target.parent))
    try:
        for name, text in files.items():
            path = (staging / name).resolve()
            if not path.is_relative_to(staging.resolve()):
                raise ValueError(f"output {name!r} of chart {chart} escapes its folder")
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
