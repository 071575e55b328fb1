"""observe() against fakepve: one listing per cycle, configs only when the listing moved; read only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.models.plan import Op
from reconciler.plan.diff import diff_fields
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.proxmox import ProxmoxProvider
from reconciler.providers.proxmox.fields import DIFF_RULES
from tests.backends.pve import PveBackend
from tests.providers.proxmox.resources import change, resource


def test_reports_nodes_and_unmanaged_guests_without_writing(provider: ProxmoxProvider, pve: PveBackend) -> None:
    start = len(pve.pve.requests)
    inv = provider.observe()
    assert [n.name for n in inv.nodes] == ["pve1", "pve2", "pve3"]
    assert all(n.cpu > 0 and n.memory_gb > 0 and n.storage_gb > 0 for n in inv.nodes)
    by_name = {r.name: r for r in inv.resources}
    assert by_name["plex"].owned is False and by_name["plex"].status == "running"
    assert by_name["plex"].fields["tags"] == ["media"]
    assert by_name["debian-12-cloud"].status == "template"
    assert by_name["debian-12-cloud"].fields["template"] is True
    assert inv.owned("home") == {}
    assert {m for m, _p in pve.requests_since(start)} == {"GET"}


def test_noop_cycle_is_one_call_and_a_moved_guest_costs_one_more(provider: ProxmoxProvider, pve: PveBackend) -> None:
    for name in ("web", "db"):
        res = resource(name)
        provider.apply(change(provider, res), res, None)
    provider.observe()  # reads the configs homeport just changed
    steady = provider.observe()
    assert steady.api_calls == 1
    assert sorted(steady.owned("home")) == ["db", "web"]

    pve.guest("web").config["cores"] = 6  # out of band
    moved = provider.observe()
    assert moved.api_calls == 2
    assert moved.owned("home")["web"].fields["cores"] == 6
    assert provider.observe().api_calls == 1


def test_observed_fields_match_desired_after_apply(provider: ProxmoxProvider) -> None:
    res = resource(
        "web",
        cpu=3,
        memory_gb=3,
        network={"ipv4": "127.0.0.11/8"},
        disks=[{"name": "data", "size": 10}],
        overrides={"cpu_type": "host"},
    )
    provider.apply(change(provider, res), res, None)
    observed = provider.observe().owned("home")["web"]
    assert observed.owned and observed.lab == "home" and observed.node == "pve1"
    assert diff_fields(provider.desired_fields(res), observed.fields, None, DIFF_RULES) == []


def test_guest_of_another_lab_is_not_ours(provider: ProxmoxProvider, pve: PveBackend) -> None:
    pve.pve.add_vm(160, "web", node="pve3", config={"tags": "homeport;homeport-work", "cores": 1})
    inv = provider.observe()
    other = next(r for r in inv.resources if r.id == "160")
    assert other.owned is True and other.lab == "work"
    assert "web" not in inv.owned("home")
    res = resource("web")
    applied = provider.apply(change(provider, res, Op.create), res, None)
    assert applied.provider_id != "160"


def test_load_detail_reads_an_unmanaged_guest_config(provider: ProxmoxProvider) -> None:
    plex = next(r for r in provider.observe().resources if r.name == "plex")
    assert plex.detail_loaded is False
    detailed = provider.load_detail(plex)
    assert detailed.detail_loaded is True
    assert detailed.fields["disks"] == [{"name": "root", "storage": "local-lvm", "size_gb": 64}]


def test_create_refuses_to_shadow_an_unmanaged_guest_of_the_same_name(provider: ProxmoxProvider) -> None:
    res = resource("plex")
    with pytest.raises(PermanentProviderError, match=r"plex already exists .*not managed by lab home; rename it"):
        provider.apply(change(provider, res), res, None)


def test_discover_reports_nodes_guests_templates_and_storage(provider: ProxmoxProvider) -> None:
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    found = provider.discover()
    assert [n.name for n in found.nodes] == ["pve1", "pve2", "pve3"]
    assert [(t.vmid, t.name) for t in found.templates] == [(9000, "debian-12-cloud")]
    by_name = {g.name: g for g in found.guests}
    assert (by_name["web"].managed, by_name["web"].lab, by_name["web"].cores) == (True, "home", 2)
    assert (by_name["plex"].managed, by_name["plex"].memory_mb, by_name["plex"].disk_gb) == (False, 8192, 64)
    lvm = [s for s in found.storage if s.storage == "local-lvm"]
    assert len(lvm) == 3 and lvm[0].content == ["images", "rootdir"] and lvm[0].total_gb > 0
    assert found.api_calls >= 1


def test_configs_are_read_again_once_the_refresh_interval_passed(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    now = datetime.now(UTC)
    provider.ctx.clock = lambda: now
    provider.observe()
    pve.guest("web").config["onboot"] = 0  # not visible in the listing
    assert provider.observe().owned("home")["web"].fields["onboot"] is True  # cached, within the interval
    provider.ctx.clock = lambda: now + timedelta(hours=2)
    start = len(pve.pve.requests)
    refreshed = provider.observe()
    assert refreshed.owned("home")["web"].fields["onboot"] is False
    vmid = pve.guest("web").vmid
    # the listing, the config, and the GPU cache (same 1h default): PCI of 3 nodes + the mappings
    assert sorted(pve.requests_since(start)) == sorted(
        [
            ("GET", "/api2/json/cluster/resources"),
            ("GET", f"/api2/json/nodes/pve1/qemu/{vmid}/config"),
            *[("GET", f"/api2/json/nodes/{n}/hardware/pci") for n in ("pve1", "pve2", "pve3")],
            ("GET", "/api2/json/cluster/mapping/pci"),
        ]
    )


def test_observe_reusing_answers_from_the_last_observe_until_a_guest_moves(
    provider: ProxmoxProvider, pve: PveBackend
) -> None:
    """The MCP server's reads: one listing call; the guests of the last observe while none moved (usage
    counters aside), a full observe when one did, and never an answer older than max_age."""
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    first = provider.observe()
    start = len(pve.pve.requests)
    again = provider.observe_reusing(60)
    assert again.api_calls == 1 and pve.requests_since(start) == [("GET", "/api2/json/cluster/resources")]
    assert again.resources == first.resources and again.resources[0] is first.resources[0]
    assert [n.name for n in again.nodes] == [n.name for n in first.nodes]

    pve.guest("plex").status = "stopped"  # out of band, on a guest nobody manages
    moved = provider.observe_reusing(60)
    assert {r.name: r.status for r in moved.resources}["plex"] == "stopped"
    assert moved.resources[0] is not first.resources[0]

    pve.guest("web").config["cores"] = 6  # a managed guest: its config is read again
    resized = provider.observe_reusing(60)
    assert resized.api_calls == 2 and resized.owned("home")["web"].fields["cores"] == 6
    assert provider.observe_reusing(0).resources[0] is not resized.resources[0]  # too old: observed in full
