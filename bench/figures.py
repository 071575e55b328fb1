"""The machine-readable line every bench script prints per figure, read by bench/run_all.py.

    FIGURE {"name": "homeport --help", "value": 0.21, "unit": "s", "target": 0.3}

`target` is the issue's bar (lower is better for every figure here); run_all.py prints the ratio.
"""

from __future__ import annotations

import json

PREFIX = "FIGURE "
NOTE = "NOTE "


def report(name: str, value: float, unit: str, target: float | None) -> None:
    """Print one figure as a FIGURE line (stdout, flushed)."""
    print(PREFIX + json.dumps({"name": name, "value": round(value, 4), "unit": unit, "target": target}), flush=True)


def note(text: str) -> None:
    """Print a remark run_all.py puts under the table (a figure left out and why)."""
    print(NOTE + " ".join(text.split()), flush=True)
