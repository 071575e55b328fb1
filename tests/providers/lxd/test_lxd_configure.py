"""Configure after create against the real daemon: the SSH key goes in through the files API, then the
chart's playbook runs over SSH at the container's address (a veth pair on 10.203.0.0/24 the test makes,
handed to the container as a physical NIC). A second run reports changed=0."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reconciler.models.plan import Op
from reconciler.models.template import Playbook
from tests.backends.lxd import DEBIAN, LxdDaemon, veth_pair
from tests.providers.lxd.resources import change, make_provider, provider_config, render, resource

ROLES = Path(__file__).resolve().parents[1] / "ansible" / "roles"


def keypair(folder: Path) -> Path:
    """A fresh ed25519 key for the configure step."""
    key = folder / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_push_key_and_run_the_playbook_twice(lxd: LxdDaemon, tmp_path: Path) -> None:
    key = keypair(tmp_path)
    config = provider_config(lxd, ansible_roles_paths=[str(ROLES)])
    config = config.model_copy(update={"credentials": config.credentials.model_copy(update={"ssh_key_file": str(key)})})
    provider = make_provider(lxd, tmp_path, config)
    with veth_pair(0) as pair:
        res = resource(
            "app",
            image=DEBIAN,
            network={"ipv4": f"{pair.guest_address}/{pair.prefix}"},
            properties={"nic_type": "physical", "nic_parent": pair.inner, "ansible_become_method": "su"},
            memory_gb=0.5,
            storage_gb=2,
        ).model_copy(
            update={
                "configuration": [Playbook(name="marker", path="ansible/playbooks/homeport-test-marker.yml")],
                "configuration_vars": {"marker_dir": "/root"},
            }
        )
        try:
            first = provider.apply(change(provider, res), res, render(res))
            assert first.outputs["address"] == pair.guest_address
            assert [(h.host, h.failed, h.unreachable) for h in first.hosts] == [("app", 0, 0)]
            assert first.hosts[0].changed >= 1, first.hosts
            marker = lxd.lxc("exec", "app", "--", "cat", "/root/app.txt").stdout
            assert marker == "lab=home resource=app workload=general\n"
            keys = lxd.lxc("exec", "app", "--", "cat", "/root/.ssh/authorized_keys").stdout
            assert keys.splitlines() == [Path(f"{key}.pub").read_text().strip()]
            stamp = provider.desired_fields(res)["configured"]
            assert lxd.config("app", "user.homeport.configured") == stamp

            [app] = provider.observe().resources
            assert app.fields["configured"] == stamp and app.fields["nic"] == {
                "nictype": "physical",
                "parent": pair.inner,
            }

            second = provider.apply(change(provider, res, Op.update), res, render(res))
            assert [(h.host, h.changed, h.failed) for h in second.hosts] == [("app", 0, 0)]
            assert "configured (0 changed)" in second.message
            keys = lxd.lxc("exec", "app", "--", "cat", "/root/.ssh/authorized_keys").stdout
            assert len(keys.splitlines()) == 1  # pushed once, not appended again
        finally:
            provider.close()
            lxd.wipe()
