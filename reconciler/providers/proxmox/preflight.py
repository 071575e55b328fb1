"""Checks before a plan is applied, each with its remedy: privileges, GPU passthrough, storage, clones."""

from __future__ import annotations

import re
from typing import Any

from reconciler.models.plan import Change, Op
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.observe import guests, list_resources

CONFIG_PRIVS = (
    "VM.Config.CPU",
    "VM.Config.Memory",
    "VM.Config.Disk",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Config.Cloudinit",
    "VM.Config.HWType",
)
OP_PRIVS: dict[Op, tuple[str, ...]] = {
    Op.create: ("VM.Allocate", "VM.PowerMgmt", "Datastore.AllocateSpace", *CONFIG_PRIVS),
    Op.replace: ("VM.Allocate", "VM.PowerMgmt", "Datastore.AllocateSpace", *CONFIG_PRIVS),
    Op.update: ("VM.PowerMgmt", *CONFIG_PRIVS),
    Op.rename: ("VM.Config.Options",),
    Op.delete: ("VM.Allocate", "VM.PowerMgmt"),
}
_RAW_PCI = re.compile(r"^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(\.\d)?$")


def held_privileges(permissions: dict[str, dict[str, Any]], path: str) -> set[str]:
    """Privileges that apply on path: those granted on it or on any path above it."""
    held: set[str] = set()
    for granted, privs in permissions.items():
        if granted == "/" or path == granted or path.startswith(granted.rstrip("/") + "/"):
            held.update(p for p, on in privs.items() if on)
    return held


def check_privileges(permissions: dict[str, dict[str, Any]], changes: list[Change], user: str) -> list[str]:
    """A problem per change whose op needs privileges the user or token lacks on /vms/<id> (or /vms)."""
    problems = []
    for change in changes:
        need = set(OP_PRIVS.get(change.op, ()))
        if not need:
            continue
        path = f"/vms/{change.provider_id}" if change.provider_id else "/vms"
        if any(d.get("storage") for d in change.desired.get("disks") or []) and change.op in (
            Op.create,
            Op.replace,
        ):
            storage = change.desired["disks"][0]["storage"]
            missing_storage = {"Datastore.AllocateSpace"} - held_privileges(permissions, f"/storage/{storage}")
            if missing_storage:
                problems.append(
                    f"{change.resource}: {user} lacks Datastore.AllocateSpace on /storage/{storage}; "
                    f"grant it: pveum acl modify /storage/{storage} -token '{user}' -role PVEDatastoreUser"
                )
            need.discard("Datastore.AllocateSpace")
        missing = sorted(need - held_privileges(permissions, path))
        if missing:
            problems.append(
                f"{change.resource}: {user} lacks {', '.join(missing)} on {path} for {change.op.value}; "
                f"grant them, "
                f"e.g. pveum acl modify /vms -token '{user}' -role PVEVMAdmin"
            )
    return problems


def check_gpus(
    changes: list[Change], is_token: bool, user: str, permissions: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """Raw PCI passthrough needs root@pam (PVE refuses tokens); a resource mapping needs Mapping.Use on it."""
    problems = []
    for change in changes:
        gpu = change.desired.get("gpu")
        if not gpu:
            continue
        if _RAW_PCI.match(str(gpu)):
            if is_token or user.split("!")[0] != "root@pam":
                problems.append(
                    f"{change.resource}: passing through the raw PCI device {gpu} needs root@pam, "
                    f"and {user} is not; create a PVE resource mapping (Datacenter > Resource Mappings, "
                    "/cluster/mapping/pci), grant Mapping.Use on it, and set overrides.proxmox.gpu to its name"
                )
        elif permissions is not None and "Mapping.Use" not in held_privileges(permissions, f"/mapping/pci/{gpu}"):
            problems.append(
                f"{change.resource}: {user} lacks Mapping.Use on /mapping/pci/{gpu}; grant it: "
                f"pveum acl modify /mapping/pci/{gpu} -token '{user}' -role PVEMappingUser"
            )
    return problems


def check_storage(client: PveClient, changes: list[Change]) -> list[str]:
    """Each new disk's storage exists on the target node and holds the content type the guest needs."""
    problems = []
    listings: dict[str, dict[str, dict[str, Any]]] = {}
    for change in changes:
        if change.op not in (Op.create, Op.replace, Op.update) or not change.node:
            continue
        if change.node not in listings:
            listings[change.node] = {s["storage"]: s for s in client.get(f"nodes/{change.node}/storage") or []}
        stores = listings[change.node]
        content = "rootdir" if change.desired.get("kind") == "lxc" else "images"
        for disk in change.desired.get("disks") or []:
            sid = disk.get("storage")
            if not sid:
                continue
            store = stores.get(sid)
            if store is None and not stores:
                problems.append(
                    f"{change.resource}: {client.user} sees no storage on node {change.node}; grant it "
                    f"Datastore.Audit on /storage/{sid} (or check the node name)"
                )
            elif store is None:
                problems.append(
                    f"{change.resource}: storage {sid} is not available on node {change.node}; "
                    f"use one of {', '.join(sorted(stores))} or enable it on that node"
                )
            elif content not in str(store.get("content", "")).split(","):
                problems.append(
                    f"{change.resource}: storage {sid} does not hold {content} (it holds "
                    f"{store.get('content')}); pick another storage or add {content} to its content"
                )
    return problems


def check_clone_sources(
    items: list[dict[str, Any]], changes: list[Change], sources: dict[str, str], shared: dict[str, bool]
) -> list[str]:
    """Each clone source is a template, and a template on another node only clones to shared storage."""
    problems = []
    templates = [i for i in guests(items) if i.get("template")]
    for change in changes:
        source = sources.get(change.resource)
        if not source or change.op not in (Op.create, Op.replace):
            continue
        found = [t for t in templates if t.get("name") == source or str(t.get("vmid")) == source]
        if not found:
            problems.append(
                f"{change.resource}: clone source {source} is not a template on this cluster; "
                "create it (qm template <vmid>) or fix overrides.proxmox.clone"
            )
            continue
        src = found[0]
        disks = change.desired.get("disks") or []
        storage = disks[0].get("storage") if disks else None
        if change.node and src["node"] != change.node and storage and not shared.get(storage, False):
            problems.append(
                f"{change.resource}: template {source} is on {src['node']} but the guest goes to "
                f"{change.node} on "
                f"non-shared storage {storage}; use shared storage, a copy of the template on {change.node}, "
                f"or place the guest on {src['node']}"
            )
    return problems


def preflight(client: PveClient, changes: list[Change], sources: dict[str, str]) -> list[str]:
    """Every problem found for these changes, each with its remedy; empty when the plan can go ahead."""
    acting = [c for c in changes if c.op is not Op.noop]
    if not acting:
        return []
    permissions = client.get("access/permissions") or {}
    problems = check_privileges(permissions, acting, client.user)
    problems += check_gpus(acting, client.is_token, client.user, permissions)
    problems += check_storage(client, acting)
    if any(sources.get(c.resource) for c in acting):
        items = list_resources(client)
        shared = {str(i["storage"]): bool(i.get("shared")) for i in items if i.get("type") == "storage"}
        problems += check_clone_sources(items, acting, sources, shared)
    return problems
