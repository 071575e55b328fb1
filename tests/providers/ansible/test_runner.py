"""The configure step over real SSH: per-host recap, a second run changes nothing, unreachable is reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.models.effective import EffectiveResource
from reconciler.providers.ansible import ConfigureTarget, playbook_path, run_playbook, target_for
from reconciler.providers.ansible.runner import prune_runs
from reconciler.providers.base import ApplyResult, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError
from tests.backends.ssh import SshHosts
from tests.providers.proxmox.resources import resource

PLAYBOOK = Path(__file__).parent / "playbooks" / "site.yml"
pytestmark = pytest.mark.slow


def _targets(ssh_hosts: SshHosts) -> list[ConfigureTarget]:
    return [
        ConfigureTarget(
            name=f"guest-{i}",
            address=h.address,
            port=h.port,
            user=ssh_hosts.user,
            vars={"ansible_python_interpreter": ssh_hosts.python},
        )
        for i, h in enumerate(ssh_hosts.hosts, 1)
    ]


def test_three_hosts_then_a_second_run_changes_nothing(
    ssh_hosts: SshHosts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # homeport must find ansible-playbook itself
    out = tmp_path / "out"
    out.mkdir()
    first = run_playbook(
        PLAYBOOK,
        _targets(ssh_hosts),
        work_dir=tmp_path,
        private_key=ssh_hosts.private_key,
        extravars={"out_dir": str(out)},
    )
    assert first.ok, first
    assert [(h.host, h.changed, h.failed, h.unreachable) for h in first.hosts] == [
        ("guest-1", 1, 0, 0),
        ("guest-2", 1, 0, 0),
        ("guest-3", 1, 0, 0),
    ]
    assert (out / "guest-2.txt").read_text() == "configured guest-2 as base\n"
    second = run_playbook(
        PLAYBOOK,
        _targets(ssh_hosts),
        work_dir=tmp_path,
        private_key=ssh_hosts.private_key,
        extravars={"out_dir": str(out)},
    )
    assert second.ok and second.changed == 0
    assert all(h.ok >= 1 for h in second.hosts)
    known = (tmp_path / "ansible" / "known_hosts").read_text()
    assert all(h.host_public_key.split()[1] in known for h in ssh_hosts.hosts)


def test_unreachable_host_is_reported_not_raised(ssh_hosts: SshHosts, tmp_path: Path) -> None:
    targets = [
        *_targets(ssh_hosts)[:1],
        ConfigureTarget(name="gone", address="127.0.0.14", port=2222, user=ssh_hosts.user),
    ]
    out = tmp_path / "out"
    out.mkdir()
    result = run_playbook(
        PLAYBOOK, targets, work_dir=tmp_path, private_key=ssh_hosts.private_key, extravars={"out_dir": str(out)}
    )
    assert not result.ok
    by_host = {h.host: h for h in result.hosts}
    assert by_host["guest-1"].changed == 1 and by_host["guest-1"].unreachable == 0
    assert by_host["gone"].unreachable == 1


def test_a_changed_host_key_is_refused(ssh_hosts: SshHosts, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    known = tmp_path / "ansible" / "known_hosts"
    known.parent.mkdir(parents=True)
    other_host_key = ssh_hosts.hosts[1].host_public_key.split()
    port = ssh_hosts.hosts[0].port
    known.write_text(f"[127.0.0.11]:{port} {other_host_key[0]} {other_host_key[1]}\n")
    result = run_playbook(
        PLAYBOOK,
        _targets(ssh_hosts)[:1],
        work_dir=tmp_path,
        private_key=ssh_hosts.private_key,
        extravars={"out_dir": str(out)},
    )
    assert result.hosts[0].unreachable == 1 and not (out / "guest-1.txt").exists()


def test_target_from_static_ip_or_reported_address() -> None:
    static: EffectiveResource = resource("web", network={"ipv4": "127.0.0.11/8"}, properties={"ssh_port": 2222})
    target = target_for(static, None, user="root")
    assert target is not None and (target.address, target.port, target.user) == ("127.0.0.11", 2222, "root")
    dhcp = resource("db", network={"ipv4": "dhcp"})
    assert target_for(dhcp, ApplyResult()) is None
    reported = target_for(dhcp, ApplyResult(outputs={"address": "10.0.0.9"}))
    assert reported is not None and reported.address == "10.0.0.9" and reported.user == "homeport"


def test_playbook_from_rendered_artifacts(tmp_path: Path) -> None:
    arts = RenderedArtifacts(chart="proxmox-compute", files={"main.tf": "", "playbook.yml": "- hosts: all\n"})
    path = playbook_path(arts, tmp_path)
    assert path is not None and path.read_text() == "- hosts: all\n"
    assert playbook_path(RenderedArtifacts(chart="x", files={"main.tf": ""}), tmp_path) is None
    evil = RenderedArtifacts(chart="x", files={"../../etc/owned": "", "playbook.yml": ""})
    with pytest.raises(PermanentProviderError, match="escapes its folder"):
        playbook_path(evil, tmp_path)


def test_missing_playbook_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PermanentProviderError, match="does not exist"):
        run_playbook(tmp_path / "nope.yml", [], work_dir=tmp_path)
    assert os.environ.get("PATH")


def test_old_run_folders_are_pruned(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for i in range(5):
        (runs / f"20261125T1200{i:02d}-abcd").mkdir(parents=True)
    prune_runs(runs, 2)
    assert sorted(p.name for p in runs.iterdir()) == ["20261125T120003-abcd", "20261125T120004-abcd"]
