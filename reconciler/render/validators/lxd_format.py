"""LXD instance YAML: instance properties, the documented instance config keys, device types and options.

Sources (LXD documentation, read 2026-11):
- instance properties and name rules: https://documentation.ubuntu.com/lxd/en/latest/reference/instance_properties/
- instance options: https://documentation.ubuntu.com/lxd/en/latest/reference/instance_options/
- devices: https://documentation.ubuntu.com/lxd/en/latest/reference/devices/
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from reconciler.render.validators.issue import ValidationIssue
from reconciler.render.validators.yaml_format import validate as validate_yaml

TOOL = "lxd-config"
PROPERTIES = {"name", "type", "description", "source", "profiles", "config", "devices", "ephemeral",
              "architecture", "stateful", "instance_type", "start", "project"}
NAME = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$")
# Free-form namespaces: any key below them is valid.
FREE_PREFIXES = ("user.", "environment.", "image.", "volatile.", "linux.sysctl.", "security.syscalls.intercept.")
# Documented keys -> the instance types they apply to ("both", "container", "virtual-machine").
CONFIG_KEYS: dict[str, str] = {
    "agent.nic_config": "virtual-machine",
    "boot.autostart": "both", "boot.autostart.delay": "both", "boot.autostart.priority": "both",
    "boot.host_shutdown_action": "both", "boot.host_shutdown_timeout": "both", "boot.stop.priority": "both",
    "cloud-init.network-config": "both", "cloud-init.user-data": "both", "cloud-init.vendor-data": "both",
    "cluster.evacuate": "both",
    "limits.cpu": "both", "limits.cpu.allowance": "container", "limits.cpu.nodes": "both",
    "limits.cpu.priority": "container", "limits.disk.priority": "both", "limits.hugepages.1GB": "container",
    "limits.hugepages.1MB": "container", "limits.hugepages.2MB": "container", "limits.hugepages.64KB": "container",
    "limits.kernel.nofile": "container", "limits.memory": "both", "limits.memory.enforce": "container",
    "limits.memory.hugepages": "virtual-machine", "limits.memory.swap": "container",
    "limits.memory.swap.priority": "container", "limits.network.priority": "container",
    "limits.processes": "container",
    "linux.kernel_modules": "container", "migration.incremental.memory": "container",
    "migration.stateful": "virtual-machine",
    "nvidia.driver.capabilities": "container", "nvidia.require.cuda": "container",
    "nvidia.require.driver": "container", "nvidia.runtime": "container",
    "raw.apparmor": "both", "raw.idmap": "container", "raw.lxc": "container", "raw.qemu": "virtual-machine",
    "raw.qemu.conf": "virtual-machine", "raw.seccomp": "container",
    "security.agent.metrics": "virtual-machine", "security.csm": "virtual-machine",
    "security.devlxd": "both", "security.devlxd.images": "both", "security.idmap.base": "container",
    "security.idmap.isolated": "container", "security.idmap.size": "container",
    "security.nesting": "container", "security.privileged": "container", "security.protection.delete": "both",
    "security.protection.shift": "container", "security.secureboot": "virtual-machine",
    "security.sev": "virtual-machine", "security.syscalls.allow": "container",
    "security.syscalls.deny": "container", "security.syscalls.deny_compat": "container",
    "security.syscalls.deny_default": "container",
    "snapshots.expiry": "both", "snapshots.pattern": "both", "snapshots.schedule": "both",
    "snapshots.schedule.stopped": "both",
}
MEMORY = re.compile(r"^\d+(\.\d+)?(B|kB|MB|GB|TB|PB|EB|KiB|MiB|GiB|TiB|PiB|EiB|%)$")
CPU = re.compile(r"^(\d+|\d+(-\d+)?(,\d+(-\d+)?)*)$")
BOOLEAN = re.compile(r"^(true|false|1|0|yes|no|on|off)$")
SIZE = re.compile(r"^\d+(\.\d+)?(B|kB|MB|GB|TB|PB|EB|KiB|MiB|GiB|TiB|PiB|EiB)$")
# Device types and their documented options (the ones a definition may set).
DEVICE_OPTIONS: dict[str, set[str]] = {
    "disk": {"path", "source", "pool", "size", "size.state", "readonly", "required", "shift", "propagation",
             "recursive", "boot.priority", "limits.read", "limits.write", "limits.max", "io.bus", "io.cache",
             "raw.mount.options", "ceph.user_name", "ceph.cluster_name", "initial.size"},
    "nic": {"name", "network", "nictype", "parent", "hwaddr", "mtu", "vlan", "ipv4.address", "ipv6.address",
            "host_name", "boot.priority", "security.mac_filtering", "security.ipv4_filtering",
            "security.ipv6_filtering", "limits.ingress", "limits.egress", "limits.max", "queue.tx.length"},
    "gpu": {"gputype", "id", "pci", "vendorid", "productid", "uid", "gid", "mode", "mdev", "mig.uuid", "mig.gi",
            "mig.ci"},
    "proxy": {"listen", "connect", "bind", "nat", "proxy_protocol", "security.uid", "security.gid", "uid", "gid",
              "mode"},
    "unix-char": {"source", "path", "major", "minor", "uid", "gid", "mode", "required"},
    "unix-block": {"source", "path", "major", "minor", "uid", "gid", "mode", "required"},
    "usb": {"vendorid", "productid", "busnum", "devnum", "serial", "uid", "gid", "mode", "required"},
    "pci": {"address"},
    "tpm": {"path", "pathrm"},
    "infiniband": {"name", "nictype", "parent", "hwaddr", "mtu"},
    "none": set(),
}


def _issue(filename: str, message: str) -> ValidationIssue:
    return ValidationIssue(file=filename, tool=TOOL, message=message)


def _config_issues(filename: str, kind: str, config: dict[str, Any]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    for key, value in config.items():
        if key.startswith(FREE_PREFIXES):
            if not isinstance(value, str):
                issues.append(_issue(filename, f"config.{key}: LXD config values are strings; quote {value!r}"))
            continue
        applies = CONFIG_KEYS.get(key)
        if applies is None:
            issues.append(_issue(filename, f"config.{key}: not a documented LXD instance option"))
            continue
        if applies != "both" and applies != kind:
            issues.append(_issue(filename, f"config.{key}: applies to {applies}s only, this instance is a {kind}"))
        if not isinstance(value, str):
            issues.append(_issue(filename, f"config.{key}: LXD config values are strings; quote {value!r}"))
            continue
        if key == "limits.memory" and not MEMORY.match(value):
            issues.append(_issue(filename, f"config.limits.memory: {value!r} is not a size such as 4GiB or 50%"))
        if key == "limits.cpu" and not CPU.match(value):
            issues.append(_issue(filename, f"config.limits.cpu: {value!r} is not a CPU count or set such as 2 or 0-3"))
        if key.startswith(("boot.autostart", "security.")) and key in ("boot.autostart", "security.nesting",
                                                                       "security.privileged") \
                and not BOOLEAN.match(value):
            issues.append(_issue(filename, f"config.{key}: {value!r} is not a boolean"))
    return issues


def _device_issues(filename: str, devices: dict[str, Any]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    for name, device in devices.items():
        if not isinstance(device, dict) or "type" not in device:
            issues.append(_issue(filename, f"devices.{name}: a device is a mapping with a type"))
            continue
        dtype = device["type"]
        options = DEVICE_OPTIONS.get(dtype)
        if options is None:
            issues.append(_issue(filename, f"devices.{name}: unknown device type {dtype!r} "
                                           f"({', '.join(sorted(DEVICE_OPTIONS))})"))
            continue
        for key in sorted(set(device) - options - {"type"}):
            issues.append(_issue(filename, f"devices.{name}: {key!r} is not an option of {dtype} devices"))
        if dtype == "disk":
            if "path" not in device and name != "root":
                issues.append(_issue(filename, f"devices.{name}: a disk device needs a path"))
            if "size" in device and not SIZE.match(str(device["size"])):
                issues.append(_issue(filename, f"devices.{name}.size: {device['size']!r} is not a size such as 20GiB"))
        if dtype == "nic" and "network" not in device and "nictype" not in device:
            issues.append(_issue(filename, f"devices.{name}: a nic device needs network or nictype"))
        if dtype == "gpu" and device.get("gputype", "physical") not in ("physical", "mdev", "mig", "sriov"):
            issues.append(_issue(filename, f"devices.{name}: gputype {device['gputype']!r} is unknown"))
    return issues


def validate(filename: str, text: str) -> list[ValidationIssue]:
    """Properties, name, config keys (and which instance type they apply to), devices."""
    syntax = validate_yaml(filename, text)
    if syntax:
        return syntax
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        return [_issue(filename, "an LXD instance definition is a mapping")]
    issues = [_issue(filename, f"unknown instance property {key!r}") for key in sorted(set(document) - PROPERTIES)]
    name = str(document.get("name", ""))
    if not NAME.match(name):
        issues.append(_issue(filename, f"name {name!r}: 1-63 letters, digits and dashes, not starting with a "
                                       "digit or dash, not ending with a dash"))
    kind = document.get("type", "container")
    if kind not in ("container", "virtual-machine"):
        issues.append(_issue(filename, f"type {kind!r}: container or virtual-machine"))
    issues.extend(_config_issues(filename, str(kind), document.get("config") or {}))
    issues.extend(_device_issues(filename, document.get("devices") or {}))
    return issues
