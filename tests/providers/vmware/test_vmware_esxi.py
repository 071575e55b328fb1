"""A standalone ESXi host (vcsim's ESX model): no custom attributes, so the notes line marks ownership."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.models.plan import Op
from reconciler.plan.diff import diff_fields
from tests.backends.vcsim import run_vcsim
from tests.providers.vmware.conftest import make_provider
from tests.providers.vmware.resources import change, resource


def test_esxi_create_update_delete_by_the_notes_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with run_vcsim(tmp_path / "vcsim", esx=True) as server:
        provider = make_provider(server, tmp_path, monkeypatch)
        try:
            assert provider.connection.is_vcenter is False
            inventory = provider.observe()
            [host] = inventory.nodes
            assert [r.owned for r in inventory.resources] == [False, False]
            res = resource("web", node=host.name, cpu=1, memory_gb=1)
            created = provider.apply(change(provider, res), res, None)
            assert created.outputs["actions"] == ["create", "power_on"]  # nothing to mark but the notes
            observed = provider.observe().owned("home")["web"]
            assert diff_fields(provider.desired_fields(res), observed.fields, None, provider.diff_rules) == []
            bigger = resource("web", node=host.name, cpu=2, memory_gb=1)
            updated = provider.apply(change(provider, bigger, Op.update), bigger, None)
            assert updated.outputs["actions"] == ["power_off", "reconfigure: num_cpus", "power_on"]
            provider.apply(change(provider, bigger, Op.delete), None, None)
            after = provider.observe()
            assert after.owned("home") == {} and len(after.resources) == 2
        finally:
            provider.close()
