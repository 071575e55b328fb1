"""kill -9 at every intent boundary on the Proxmox provider (fakepve): no duplicate guest, each change once.

fakepve, like a real PVE, accepts two guests with the same name, so a daemon that created twice after a
crash would show here. The daemon runs as a subprocess and reaches fakepve over HTTPS on 127.0.0.1.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.backends.pve import PVE_POOL_WITH_DEFAULTS, PveBackend
from tests.daemon.labrepo import LabRepo
from tests.daemon.test_crash import converge_with_crashes, ok_changes, run_daemon


def _lab(pve: PveBackend, cpu: int) -> dict[str, bytes | None]:
    lab = pve.lab_yaml("{auto_apply: true, self_heal: false, prune: false, max_auto_risk: high}")
    # fakepve reports every node as 8 GiB with its seeded guests' memory allocated already: allow memory
    # overcommit so the pinned guests fit (this test is about crashes, not placement)
    pool = PVE_POOL_WITH_DEFAULTS + "  memory_allocation_ratio: 4\n"
    files: dict[str, bytes | None] = {"homeport.yaml": lab.encode(), "pools/proxmox.yaml": pool.encode()}
    for i in range(2):
        files[f"resources/guest-{i}.yaml"] = (
            f"apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {{name: guest-{i}}}\nspec:\n"
            f"  pool: /infrastructure/proxmox\n  requirements: {{cpu: {cpu}, memory_gb: 1, storage_gb: 8}}\n"
            f"  placement: {{node: pve{i + 1}}}\n").encode()
    return files


def _guest_names(pve: PveBackend) -> Counter[str]:
    return Counter(vm.name for vm in pve.pve.vms if str(vm.name).startswith("guest-"))


def test_kill_minus_9_at_every_boundary_on_fakepve(tmp_path: Path, pve: PveBackend) -> None:
    db_url = f"sqlite:///{tmp_path / 'state.db'}"
    repo = LabRepo(tmp_path / "lab", bare=False)
    repo.commit(_lab(pve, cpu=1), "two guests")

    def no_duplicate_guests() -> None:
        assert all(n == 1 for n in _guest_names(pve).values()), f"duplicate guests: {_guest_names(pve)}"

    _, index, hit = converge_with_crashes(repo.path, db_url, 0, no_duplicate_guests)
    assert hit == {"intent-written", "provider-applied", "intent-finished"}
    assert _guest_names(pve) == Counter({"guest-0": 1, "guest-1": 1})
    repo.commit(_lab(pve, cpu=2), "two cores each")
    converge_with_crashes(repo.path, db_url, index, no_duplicate_guests)
    cores = {vm.name: str(vm.config.get("cores")) for vm in pve.pve.vms if str(vm.name).startswith("guest-")}
    assert cores == {"guest-0": "2", "guest-1": "2"}
    assert ok_changes(db_url) == Counter({("guest-0", "create"): 1, ("guest-1", "create"): 1,
                                          ("guest-0", "update"): 1, ("guest-1", "update"): 1})
    assert run_daemon(repo.path, db_url, None) == 0
