"""Who the configure step talks to: one target per guest, and the Ansible inventory for them (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from reconciler.models.effective import EffectiveResource
from reconciler.providers.base import ApplyResult

DEFAULT_SSH_PORT = 22
DEFAULT_USER = "homeport"
GROUP = "homeport"


class ConfigureTarget(BaseModel):
    """One host to configure: the homeport resource name and how to reach it over SSH."""

    name: str = Field(description="Inventory name: the homeport resource name")
    address: str
    port: int = DEFAULT_SSH_PORT
    user: str = DEFAULT_USER
    vars: dict[str, Any] = Field(default_factory=dict, description="Host variables for the playbook")


def static_address(resource: EffectiveResource) -> str | None:
    """The address the definition gives (a static IPv4, prefix stripped), if any."""
    ipv4 = resource.network.ipv4
    if not ipv4 or ipv4 == "dhcp":
        return None
    return ipv4.split("/")[0]


def target_for(
    resource: EffectiveResource, applied: ApplyResult | None = None, *, user: str | None = None
) -> ConfigureTarget | None:
    """The target for a guest: the definition's static IP, else the address the provider reported.

    Port and user come from the resource's properties (`ssh_port`, `ssh_user`), else 22 and `user`;
    properties named `ansible_*` (e.g. ansible_python_interpreter) become host variables.
    None when no address is known (DHCP without a guest agent answer).
    """
    address = static_address(resource) or (
        str(applied.outputs["address"]) if applied and applied.outputs.get("address") else None
    )
    if not address:
        return None
    props = resource.properties
    return ConfigureTarget(
        name=resource.name,
        address=address,
        port=int(props.get("ssh_port", DEFAULT_SSH_PORT)),
        user=str(props.get("ssh_user") or user or DEFAULT_USER),
        vars={**resource.configuration_vars, **{k: v for k, v in props.items() if k.startswith("ansible_")}},
    )


def inventory(targets: list[ConfigureTarget], *, private_key: Path | None, known_hosts: Path) -> dict[str, Any]:
    """The YAML-shaped inventory ansible-runner takes: every target in group `homeport`.

    Host keys are recorded on first contact in a known_hosts file of the lab (accept-new), and checked
    on every later run, so a guest whose key changes is refused rather than trusted.
    """
    ssh_args = f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=accept-new -o IdentitiesOnly=yes"
    hosts: dict[str, Any] = {}
    for t in targets:
        entry: dict[str, Any] = {
            "ansible_python_interpreter": "auto_silent",
            **t.vars,
            "ansible_host": t.address,
            "ansible_port": t.port,
            "ansible_user": t.user,
            "ansible_ssh_common_args": ssh_args,
        }
        if private_key is not None:
            entry["ansible_ssh_private_key_file"] = str(private_key)
        hosts[t.name] = entry
    return {"all": {"children": {GROUP: {"hosts": hosts}}}}
