"""Golden files: every example-lab resource rendered by every chart that supports it.

`python -m tests.render.golden` (scripts/update-golden.sh, `make golden`) rewrites tests/golden/;
tests/render/test_golden.py compares a fresh render with it. Review the diff like code.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.render.chart import Chart, ChartLibrary
from reconciler.render.engine import render_chart
from tests.render.lab import ROOT, load_lab

GOLDEN_DIR = ROOT / "tests" / "golden"
CHARTS_DIR = ROOT / "charts"


def supporting_charts(library: ChartLibrary, resource: EffectiveResource) -> list[Chart]:
    """Every chart whose provider and resource types include the resource's."""
    return [c for c in library.supporting(resource.provider_type) if resource.resource_type in c.meta.resource_types]


def render_lab(state: DesiredState, library: ChartLibrary) -> dict[str, str]:
    """`<resource>/<chart>/<file>` -> text for the whole lab."""
    out: dict[str, str] = {}
    for name in sorted(state.effective):
        resource = state.effective[name]
        for chart in supporting_charts(library, resource):
            for filename, text in render_chart(chart, resource).files.items():
                out[f"{name}/{chart.name}/{filename}"] = text
    return out


def read_golden(folder: Path = GOLDEN_DIR) -> dict[str, str]:
    """The stored golden files, by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "README.md"}


def write_golden(files: dict[str, str], folder: Path = GOLDEN_DIR) -> None:
    """Replace the golden folder's rendered files with these."""
    readme = folder / "README.md"
    keep = readme.read_text(encoding="utf-8") if readme.is_file() else None
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if keep is not None:
        readme.write_text(keep, encoding="utf-8")
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main() -> int:
    """Regenerate tests/golden from desired-state/ and charts/; print what changed."""
    before = read_golden() if GOLDEN_DIR.exists() else {}
    after = render_lab(load_lab(), ChartLibrary([CHARTS_DIR]))
    write_golden(after)
    changed = sorted(k for k in after if before.get(k) != after[k])
    removed = sorted(set(before) - set(after))
    for rel in changed:
        print(f"{'new' if rel not in before else 'changed'}: tests/golden/{rel}")
    for rel in removed:
        print(f"removed: tests/golden/{rel}")
    print(f"{len(after)} golden files, {len(changed)} changed, {len(removed)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
