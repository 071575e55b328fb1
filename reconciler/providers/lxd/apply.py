"""The only code that changes LXD: create, converge in place, start/stop, restart, rename, delete, push files.

Every step reads live state first, so a change half done by a killed run converges instead of
duplicating: an instance carries its user.homeport.* ownership keys from the create request on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pylxd import exceptions as lxd_exc

from reconciler.models.plan import Change, Op
from reconciler.providers.base import ApplyResult
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.lxd.client import LxdClient
from reconciler.providers.lxd.facts import (
    CONFIGURED_KEY,
    RESOURCE_KEY,
    InstanceFacts,
    parse_instance,
    passwd_entry,
    primary_address,
)
from reconciler.providers.lxd.fields import restart_reasons
from reconciler.providers.lxd.settings import LxdSettings

# Config keys the chart may set and a converge removes again when the chart no longer renders them.
CHART_KEYS = ("limits.cpu", "limits.memory", "security.nesting", "nvidia.runtime", "boot.autostart")


class Applier:
    """Carries out changes for one lab on one LXD endpoint."""

    def __init__(
        self,
        client: LxdClient,
        settings: LxdSettings,
        lab: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.settings = settings
        self.lab = lab
        self.sleep = sleep
        self.clock = clock

    # ------------------------------------------------------------------ reads

    def instance(self, name: str) -> InstanceFacts | None:
        """The instance called name with its state, None when LXD has none."""
        try:
            meta = self.client.get(f"instances/{name}", f"read instance {name}", recursion=1)
        except PermanentProviderError as exc:
            if isinstance(exc.__cause__, lxd_exc.NotFound):
                return None
            raise
        return parse_instance(meta) if meta else None

    def owned(self, name: str) -> InstanceFacts | None:
        """The instance called name if this lab owns it; a permanent error when a stranger holds the name."""
        inst = self.instance(name)
        if inst is None:
            return None
        lab, resource = inst.owned_by
        if lab != self.lab or resource != name:
            who = f"lab {lab!r}" if lab else "nobody (not homeport's)"
            raise PermanentProviderError(
                f"lxd: an instance called {name} exists and is managed by {who}; homeport never touches it: "
                "rename or remove it, or give the resource another name"
            )
        return inst

    # ------------------------------------------------------------------ changes

    def apply(self, change: Change, request: dict[str, Any] | None) -> ApplyResult:
        """One change, idempotently. request is the rendered instance (None only for delete and noop)."""
        name = change.resource
        if change.op is Op.noop:
            return ApplyResult(provider_id=change.provider_id, node=change.node, message=change.reason)
        if change.op is Op.delete:
            return self.delete(name)
        if request is None:
            raise PermanentProviderError(f"lxd: {name}: nothing rendered to apply")
        actions: list[str] = []
        if change.op is Op.replace and self.owned(name) is not None:
            self.delete(name)
            actions.append("deleted for replacement")
        if change.op is Op.rename and change.previous_name and self.instance(name) is None:
            self.rename(change.previous_name, name)
            actions.append(f"renamed from {change.previous_name}")
        inst = self.owned(name)
        if inst is None:
            self.create(request, change.node)
            actions.append("created")
        else:
            actions.extend(self.converge(inst, request, [f.path for f in change.fields]))
        want = str(change.desired.get("status") or "running")
        actions.extend(self.ensure_status(name, want))
        final = self.owned(name)
        if final is None:
            raise TransientProviderError(f"lxd: {name} vanished while being applied", 10.0)
        outputs: dict[str, Any] = {"actions": actions, "type": final.type}
        address = primary_address(final)
        if address:
            outputs["address"] = address
        return ApplyResult(
            provider_id=final.name,
            node=final.location or change.node,
            message=", ".join(actions) or "already as declared",
            outputs=outputs,
        )

    def create(self, request: dict[str, Any], node: str | None) -> None:
        """POST /1.0/instances from the rendered request (ownership keys included), waited on."""
        params = {"target": node} if node and self.client.clustered else None
        self.client.request("post", "instances", f"create instance {request['name']}", json=request, params=params)

    def converge(self, inst: InstanceFacts, request: dict[str, Any], changed: list[str]) -> list[str]:
        """PUT the instance with the rendered config and devices (others' keys kept); restart where LXD needs it."""
        name = inst.name
        current = self.client.get(f"instances/{name}", f"read instance {name}") or {}
        config = {str(k): str(v) for k, v in (current.get("config") or {}).items()}
        devices = {str(k): dict(v or {}) for k, v in (current.get("devices") or {}).items()}
        wanted_config: dict[str, str] = request["config"]
        wanted_devices: dict[str, dict[str, str]] = request["devices"]
        new_config = {k: v for k, v in config.items() if not (k in CHART_KEYS and k not in wanted_config)}
        new_config.update(wanted_config)
        # GPUs the chart no longer renders go; other devices someone added are kept.
        new_devices = {k: v for k, v in devices.items() if not (v.get("type") == "gpu" and k not in wanted_devices)}
        new_devices.update(wanted_devices)
        profiles = request.get("profiles") or current.get("profiles") or []
        if new_config == config and new_devices == devices and profiles == current.get("profiles"):
            return []
        body = {
            "architecture": current.get("architecture"),
            "config": new_config,
            "devices": new_devices,
            "profiles": profiles,
            "ephemeral": bool(current.get("ephemeral")),
            "description": request.get("description", current.get("description", "")),
        }
        self.client.request("put", f"instances/{name}", f"update instance {name}", json=body)
        actions = ["updated in place"]
        slow = restart_reasons(inst.type, changed)
        if slow and inst.status == "running":
            self.state(name, "restart")
            actions.append(f"restarted ({', '.join(slow)} take effect at start)")
        return actions

    def state(self, name: str, action: str) -> None:
        """start, stop or restart; a clean stop/restart that does not finish in stop_timeout is forced."""
        body: dict[str, Any] = {"action": action}
        if action in ("stop", "restart"):
            body["timeout"] = int(self.settings.stop_timeout)
        try:
            self.client.request("put", f"instances/{name}/state", f"{action} instance {name}", json=body)
        except PermanentProviderError as exc:
            if action == "start" or ("timed out" not in str(exc).lower() and "timeout" not in str(exc).lower()):
                raise
            self.client.request(
                "put", f"instances/{name}/state", f"{action} instance {name} (forced)", json={**body, "force": True}
            )
        except TransientProviderError:
            if action == "start":
                raise
            self.client.request(
                "put", f"instances/{name}/state", f"{action} instance {name} (forced)", json={**body, "force": True}
            )

    def ensure_status(self, name: str, want: str) -> list[str]:
        """Start or stop the instance to match want (running or stopped)."""
        inst = self.instance(name)
        if inst is None:
            raise TransientProviderError(f"lxd: {name} vanished while being applied", 10.0)
        if want == "running" and inst.status != "running":
            if inst.status == "frozen":
                self.state(name, "unfreeze")
                return ["unfrozen"]
            self.state(name, "start")
            return ["started"]
        if want == "stopped" and inst.status in ("running", "frozen"):
            self.state(name, "stop")
            return ["stopped"]
        return []

    def delete(self, name: str) -> ApplyResult:
        """Stop (clean, then forced) and delete an instance this lab owns; nothing when it is gone."""
        inst = self.owned(name)
        if inst is None:
            return ApplyResult(message=f"{name} is already gone")
        if inst.status in ("running", "frozen"):
            self.state(name, "stop")
        self.client.request("delete", f"instances/{name}", f"delete instance {name}")
        return ApplyResult(provider_id=name, message="stopped and deleted", outputs={"actions": ["deleted"]})

    def rename(self, old: str, new: str) -> None:
        """Rename an owned instance (LXD renames only stopped instances), then its ownership key."""
        inst = self.owned(old)
        if inst is None:
            raise PermanentProviderError(f"lxd: cannot rename {old} to {new}: {old} does not exist")
        if inst.status in ("running", "frozen"):
            self.state(old, "stop")
        self.client.request("post", f"instances/{old}", f"rename instance {old} to {new}", json={"name": new})
        self.client.request("patch", f"instances/{new}", f"update instance {new}", json={"config": {RESOURCE_KEY: new}})

    def mark_configured(self, name: str, stamp: str | None) -> None:
        """Record (or clear, with None) the stamp of the last clean configure run on the instance."""
        self.client.request(
            "patch", f"instances/{name}", f"update instance {name}", json={"config": {CONFIGURED_KEY: stamp or ""}}
        )

    # ------------------------------------------------------------------ guest access

    def wait_for_address(self, name: str) -> str:
        """The instance's IPv4 once it has one (address_timeout); a transient error if none appears."""
        deadline = self.clock() + self.settings.address_timeout
        while True:
            inst = self.instance(name)
            address = primary_address(inst) if inst else None
            if address:
                return address
            if self.clock() >= deadline:
                raise TransientProviderError(
                    f"lxd: {name} has no IPv4 address after {self.settings.address_timeout:g}s "
                    "(options.address_timeout); give it a static network.ipv4 or check its NIC",
                    30.0,
                )
            self.sleep(1.0)

    def push_authorized_key(self, name: str, user: str, public_key: str) -> None:
        """Add public_key to user's ~/.ssh/authorized_keys through the files API (kept once, others kept)."""
        files = f"instances/{name}/files"
        passwd = self.client.get_raw(files, f"read /etc/passwd of {name}", {"path": "/etc/passwd"})
        entry = passwd_entry(passwd.decode(errors="replace"), user)
        if entry is None:
            raise PermanentProviderError(
                f"lxd: {name} has no user {user!r} to log in as; set options.ssh_user or create the user in the image"
            )
        uid, gid, home = entry
        ssh_dir = f"{home.rstrip('/')}/.ssh"
        owner = {"X-LXD-uid": str(uid), "X-LXD-gid": str(gid)}
        self.client.request(
            "post",
            files,
            f"create {ssh_dir} in {name}",
            params={"path": ssh_dir},
            headers={**owner, "X-LXD-type": "directory", "X-LXD-mode": "0700"},
            data=b"",
        )
        keys_path = f"{ssh_dir}/authorized_keys"
        try:
            raw = self.client.get_raw(files, f"read {keys_path} of {name}", {"path": keys_path})
            existing = raw.decode(errors="replace")
        except PermanentProviderError as exc:
            if not isinstance(exc.__cause__, lxd_exc.NotFound):
                raise
            existing = ""
        lines = [line for line in existing.splitlines() if line.strip()]
        if public_key.strip() in (line.strip() for line in lines):
            return
        body = "\n".join([*lines, public_key.strip()]) + "\n"
        self.client.request(
            "post",
            files,
            f"write {keys_path} in {name}",
            params={"path": keys_path},
            headers={**owner, "X-LXD-type": "file", "X-LXD-mode": "0600", "X-LXD-write": "overwrite"},
            data=body.encode(),
        )
