"""Drift from managedFields (pure): the fields homeport applied, and which of them another manager changed.

After each server-side apply homeport records, per object, the leaves of its own `managedFields`
entry (manager `homeport`, operation Apply) with the values the API server stored for them
(`applied_record`). Observe then reads each listed object's `managedFields` again
(`changed_fields`): a recorded leaf homeport no longer owns whose value now differs (or is gone)
was changed by another field manager, which then owns it. Fields homeport never set (server
defaults, controller status, a label someone else added) are never in the record, so they never
count. Only the answers of the list calls observe makes anyway are read: no request is added.

Paths read like the object: `spec.rules[0].host`, `spec.template.spec.containers[name=web].image`,
`metadata.labels["app.kubernetes.io/name"]` (a key with dots or slashes is quoted), keyed list
items as `[key=value]`, a set's member as `[value]`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.providers.kubernetes.settings import FIELD_MANAGER

Leaf = tuple[str, ...]  # raw fieldsV1 keys, root first: ("f:spec", "f:rules")

# Secret values never enter the record (the database): their leaves are compared by owner only.
SECRET_VALUE_FIELDS = ("f:data", "f:stringData")
NO_VALUE = {"withheld": "secret value"}
SHORT_VALUE = 60  # longer values are left out of the plan's line; the path still names the field
MAX_PATHS = 3  # differing paths named inside one atomic field (a list replaced as a whole)
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def leaves(tree: dict[str, Any], prefix: Leaf = ()) -> list[Leaf]:
    """The leaves of a fieldsV1 tree as raw key tuples (a map's '.' marker is not a leaf of its own)."""
    out: list[Leaf] = []
    for key, sub in tree.items():
        if key == "." or not key.startswith(("f:", "k:", "v:", "i:")):
            continue
        path = (*prefix, key)
        children = leaves(sub, path) if isinstance(sub, dict) and sub else []
        out.extend(children or [path])
    return out


def manager_leaves(obj: dict[str, Any]) -> dict[str, set[Leaf]]:
    """Field manager -> the leaves it owns (status updates by controllers left out)."""
    owners: dict[str, set[Leaf]] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("operation") == "Update" and entry.get("subresource") == "status":
            continue
        manager = str(entry.get("manager", "?"))
        owners.setdefault(manager, set()).update(leaves(entry.get("fieldsV1") or {}))
    return owners


def homeport_leaves(obj: dict[str, Any]) -> set[Leaf]:
    """The leaves of homeport's own server-side apply entry."""
    out: set[Leaf] = set()
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply":
            out.update(leaves(entry.get("fieldsV1") or {}))
    return out


def _name(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else json.dumps(key)


def _member(key: str) -> str:
    """A list item's key as read: k:{"name":"web"} -> [name=web], v:"a" -> [a], i:0 -> [0]."""
    kind, raw = key[:2], key[2:]
    if kind == "i:":
        return f"[{raw}]"
    try:
        parsed = json.loads(raw)
    except ValueError:
        return f"[{raw}]"
    if kind == "k:" and isinstance(parsed, dict):
        return "[" + ",".join(f"{k}={v}" for k, v in sorted(parsed.items())) + "]"
    return f"[{parsed}]"


def readable(leaf: Leaf) -> str:
    """A leaf as a path a person reads: spec.template.spec.containers[name=web].image."""
    text = ""
    for key in leaf:
        if key.startswith("f:"):
            name = _name(key[2:])
            if name.startswith('"'):
                text += f"[{name}]"
            else:
                text += f".{name}" if text else name
        else:
            text += _member(key)
    return text


def value_at(obj: Any, leaf: Leaf) -> tuple[bool, Any]:
    """(found, value) of a leaf in an object."""
    node = obj
    for key in leaf:
        kind, raw = key[:2], key[2:]
        if kind == "f:":
            if not isinstance(node, dict) or raw not in node:
                return False, None
            node = node[raw]
            continue
        if not isinstance(node, list):
            return False, None
        if kind == "i:":
            index = int(raw) if raw.isdigit() else -1
            if not 0 <= index < len(node):
                return False, None
            node = node[index]
            continue
        try:
            wanted = json.loads(raw)
        except ValueError:
            return False, None
        if kind == "k:" and isinstance(wanted, dict):
            match = [i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())]
        else:
            match = [i for i in node if i == wanted]
        if not match:
            return False, None
        node = match[0]
    return True, node


def _withheld(obj: dict[str, Any], leaf: Leaf) -> bool:
    return obj.get("kind") == "Secret" and bool(leaf) and leaf[0] in SECRET_VALUE_FIELDS


def writers(obj: dict[str, Any]) -> dict[str, str]:
    """Other field manager -> when it last wrote the object (its managedFields entry's time)."""
    out: dict[str, str] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        manager = str(entry.get("manager", "?"))
        if manager != FIELD_MANAGER:
            out[manager] = max(out.get(manager, ""), str(entry.get("time") or ""))
    return out


def applied_record(obj: dict[str, Any]) -> dict[str, Any]:
    """What homeport owns in an object the API server answered an apply with: leaves and their values.

    A Secret's values are withheld; instead, when each other field manager had last written it
    (homeport applies `stringData`, another manager's `data` key is a field of its own).
    """
    fields = []
    for leaf in sorted(homeport_leaves(obj)):
        found, value = value_at(obj, leaf)
        if _withheld(obj, leaf):
            value = NO_VALUE
        elif not found:
            continue
        fields.append([list(leaf), value])
    record: dict[str, Any] = {"api_version": obj.get("apiVersion"), "fields": fields}
    if obj.get("kind") == "Secret":
        record["writers"] = writers(obj)
    return record


def _secret_key_written(obj: dict[str, Any], record: dict[str, Any], leaf: Leaf, owners: dict[str, set[Leaf]]) -> str:
    """The Secret key homeport applied that another manager has written since (by its entry's time), or ''."""
    name = leaf[-1]
    keys = {(field, name) for field in SECRET_VALUE_FIELDS}
    then = record.get("writers") or {}
    now = writers(obj)
    others = sorted(
        m for m, owned in owners.items() if m != FIELD_MANAGER and owned & keys and now.get(m) != then.get(m)
    )
    return f"{readable(('f:data', name))} (field manager {', '.join(others)})" if others else ""


def differing(old: Any, new: Any, path: str = "") -> list[str]:
    """Sub-paths (in `readable` form, relative) where two values differ; [path] when they differ as a whole."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            name = _name(str(key))
            sub = f"{path}[{name}]" if name.startswith('"') else f"{path}.{name}"
            out.extend(differing(old.get(key), new.get(key), sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            out.extend(differing(a, b, f"{path}[{index}]"))
        return out
    return [path]


def _related(a: Leaf, b: Leaf) -> bool:
    """One leaf is the other, or holds it (an atomic field owned as a whole)."""
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return f" = {text}" if len(text) <= SHORT_VALUE else ""


def latest_writer(obj: dict[str, Any]) -> str | None:
    """The other field manager that wrote the object last, at or after homeport's apply (status-only updates
    by controllers left out): who most likely removed a field, which then has no owner to name."""
    entries = [
        e for e in (obj.get("metadata") or {}).get("managedFields") or []
        if e.get("subresource") != "status" and any(leaf[0] != "f:status" for leaf in leaves(e.get("fieldsV1") or {}))
    ]
    applied = max((str(e.get("time") or "") for e in entries if e.get("manager") == FIELD_MANAGER), default="")
    later = [(str(e.get("time") or ""), str(e.get("manager", "?"))) for e in entries
             if e.get("manager") != FIELD_MANAGER and str(e.get("time") or "") >= applied]
    return max(later)[1] if later else None


def changed_fields(obj: dict[str, Any], record: dict[str, Any], skip: set[Leaf] | None = None) -> list[str]:
    """The recorded fields another field manager changed: `Kind/name:path = value (field manager X)`.

    A recorded leaf counts when homeport no longer owns it (nor a field holding it) and its value
    differs from the one recorded, or it is gone. Secret values are not recorded: a Secret's data
    key counts once another manager owns it. `skip`: leaves left to others (an autoscaler's replicas).
    """
    key = f"{obj.get('kind', '?')}/{(obj.get('metadata') or {}).get('name', '?')}"
    owners = manager_leaves(obj)
    mine = homeport_leaves(obj)
    same_version = obj.get("apiVersion") == record.get("api_version")
    out = []
    for raw, recorded in record.get("fields") or []:
        leaf: Leaf = tuple(raw)
        if recorded == NO_VALUE and len(leaf) == 2:
            written = _secret_key_written(obj, record, leaf, owners)
            out.extend([f"{key}:{written}"] if written else [])
            continue
        if leaf in (skip or set()) or any(leaf[: len(m)] == m for m in mine):
            continue
        others = sorted(
            m for m, owned in owners.items() if m != FIELD_MANAGER and any(_related(leaf, o) for o in owned)
        )
        who = f" (field manager {', '.join(others)})" if others else ""
        base = readable(leaf)
        if recorded == NO_VALUE or not same_version:
            # Nothing to compare against (listed under another version): owner only.
            if others:
                out.append(f"{key}:{base}{who}")
            continue
        found, live = value_at(obj, leaf)
        if not found:
            writer = latest_writer(obj)
            out.append(f"{key}:{base} removed{who or (f' (last written by field manager {writer})' if writer else '')}")
            continue
        paths = differing(recorded, live)
        if not paths:
            continue  # taken over with the same value: nothing differs, homeport's next apply shares it
        who = who or " (field manager unknown)"
        for sub in paths[:MAX_PATHS]:
            present, part = value_at_path(live, sub)
            out.append(f"{key}:{base}{sub}{_shown(part) if present else ' removed'}{who}")
        if len(paths) > MAX_PATHS:
            out.append(f"{key}:{base}: {len(paths) - MAX_PATHS} more field(s) differ{who}")
    return sorted(out)


_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def value_at_path(value: Any, path: str) -> tuple[bool, Any]:
    """(found, value) at a relative path made by `differing` (.name, [0], ["dotted.key"])."""
    node = value
    for match in _STEP.finditer(path):
        name, index, quoted_name = match.groups()
        if index is not None:
            if not isinstance(node, list) or int(index) >= len(node):
                return False, None
            node = node[int(index)]
            continue
        field = name if name is not None else json.loads(quoted_name)
        if not isinstance(node, dict) or field not in node:
            return False, None
        node = node[field]
    return True, node
