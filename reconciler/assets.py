"""Where homeport's shipped files live: charts, the example lab, migrations, Ansible roles, Terraform modules."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_SOURCE_ROOT = _PACKAGE.parent


def asset_dir(name: str) -> Path:
    """The directory of a shipped asset ('charts', 'desired-state', 'migrations', 'ansible', 'terraform')."""
    bundled = _PACKAGE / "_assets" / name
    if bundled.is_dir():
        return bundled
    return _SOURCE_ROOT / name
