"""A small sim-only lab as a bare "forge" repository plus helpers to push commits to it."""

from __future__ import annotations

from pathlib import Path

import pygit2

from reconciler.source.gitrepo import commit_tree_changes

LAB_YAML = """\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: {name}}}
spec:
  providers:
    lab:
      type: sim
      nodes: [sim-1, sim-2]
{options}
  reconcile:
    interval: {interval}
    auto_apply: true
    prune: true
    self_heal: {self_heal}
    max_auto_risk: high
{extra}
"""

POOL_YAML = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: sim-compute}
spec:
  path: /sim/compute
  provider: lab
  nodes: [sim-1, sim-2]
  capacity: {cpu: 64, memory_gb: 256}
"""


def resource_yaml(name: str, cpu: int = 1, memory_gb: int = 1) -> str:
    """A sim resource file."""
    return (f"apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {{name: {name}}}\nspec:\n"
            f"  pool: /sim/compute\n  requirements: {{cpu: {cpu}, memory_gb: {memory_gb}, storage_gb: 10}}\n")


def lab_yaml(name: str = "home", *, interval: str = "5m", self_heal: bool = False,
             faults: dict[str, str] | None = None, extra: str = "") -> str:
    """homeport.yaml for a sim-only lab."""
    options = ""
    if faults:
        options = "      options:\n        faults: {" + ", ".join(f"{k}: {v}" for k, v in faults.items()) + "}"
    return LAB_YAML.format(name=name, interval=interval, self_heal=str(self_heal).lower(), options=options,
                           extra=extra)


def lab_files(count: int = 3, **kwargs: object) -> dict[str, bytes | None]:
    """All files of a lab with `count` resources vm-0..vm-N."""
    files: dict[str, bytes | None] = {"homeport.yaml": lab_yaml(**kwargs).encode(),  # type: ignore[arg-type]
                                      "pools/sim-compute.yaml": POOL_YAML.encode()}
    for i in range(count):
        files[f"resources/vm-{i}.yaml"] = resource_yaml(f"vm-{i}").encode()
    return files


class LabRepo:
    """A repository holding a lab on branch main; bare (a forge stand-in) or with a work tree."""

    def __init__(self, path: Path, *, bare: bool = True) -> None:
        self.path = path
        self.repo = pygit2.init_repository(str(path), bare=bare, initial_head="main")

    @property
    def url(self) -> str:
        """A file:// URL for cloning."""
        return self.path.resolve().as_uri()

    def head(self) -> str | None:
        """The commit id on main."""
        ref = self.repo.references.get("refs/heads/main")
        return str(ref.target) if ref is not None else None

    def commit(self, changes: dict[str, bytes | None], message: str = "change") -> str:
        """Commit changes on main (path -> bytes, None deletes) and move main to it."""
        head = self.head()
        parent = self.repo[head] if head else None
        oid = commit_tree_changes(self.repo, parent, changes, message)  # type: ignore[arg-type]
        self.repo.references.create("refs/heads/main", oid, force=True)
        return str(oid)
