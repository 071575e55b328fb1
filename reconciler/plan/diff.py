"""Pure three-way field diff: desired vs observed, with last-applied to see removals and drift.

Only keys the desired side sets are compared (values a provider fills in are ignored); lists with
identity are compared by key, never by order; per-field ignore rules are honoured.
"""

from __future__ import annotations

from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.plan import FieldChange
from reconciler.plan.fieldpaths import matches, rule_path
from reconciler.plan.risk import field_risk


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (a == b and type(a) is type(b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 1e-9
    return bool(a == b)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


class _Differ:
    def __init__(self, rules: DiffRules, ignore: list[str]) -> None:
        self.rules = rules
        self.ignore = [*rules.ignore_fields, *ignore]
        self.out: list[FieldChange] = []

    def emit(self, path: str, old: Any, new: Any) -> None:
        change = FieldChange(path=path, old=old, new=new, forces_replacement=matches(path, self.rules.replace_fields))
        change.risk = field_risk(change, self.rules)
        self.out.append(change)

    def mapping(
        self, prefix: str, desired: dict[str, Any], observed: dict[str, Any], last: dict[str, Any] | None
    ) -> None:
        for key, want in desired.items():
            path = _join(prefix, key)
            if matches(path, self.ignore):
                continue
            have = observed.get(key)
            prev = last.get(key) if isinstance(last, dict) else None
            self.value(path, want, have, prev)
        if isinstance(last, dict):
            for key in last:
                path = _join(prefix, key)
                if key in desired or matches(path, self.ignore) or observed.get(key) is None:
                    continue
                self.emit(path, observed.get(key), None)

    def value(self, path: str, want: Any, have: Any, prev: Any) -> None:
        plain = rule_path(path)
        key_name = self.rules.keyed_lists.get(plain)
        if key_name is not None and isinstance(want, list):
            self.keyed(
                path, key_name, want, have if isinstance(have, list) else [], prev if isinstance(prev, list) else None
            )
        elif isinstance(want, dict) and isinstance(have, dict):
            self.mapping(path, want, have, prev if isinstance(prev, dict) else None)
        elif matches(path, self.rules.set_fields) and isinstance(want, list):
            have_list = have if isinstance(have, list) else []
            if sorted(map(str, want)) != sorted(map(str, have_list)):
                self.emit(path, sorted(have_list, key=str) if have is not None else None, sorted(want, key=str))
        elif have is None and want is not None:
            self.emit(path, None, want)
        elif not _same(want, have):
            self.emit(path, have, want)

    def keyed(self, path: str, key_name: str, want: list[Any], have: list[Any], prev: list[Any] | None) -> None:
        have_by = {str(item.get(key_name)): item for item in have if isinstance(item, dict)}
        prev_by = {str(item.get(key_name)): item for item in prev or [] if isinstance(item, dict)}
        want_keys = set()
        for item in want:
            key = str(item.get(key_name))
            want_keys.add(key)
            item_path = f"{path}[{key}]"
            if key not in have_by:
                self.emit(item_path, None, item)
                continue
            prev_item = prev_by.get(key)
            if prev_item is not None:
                prev_item = {k: v for k, v in prev_item.items() if k != key_name}
            self.mapping(item_path, {k: v for k, v in item.items() if k != key_name}, have_by[key], prev_item)
        for key in prev_by:
            if key not in want_keys and key in have_by:
                self.emit(f"{path}[{key}]", have_by[key], None)


def diff_fields(
    desired: dict[str, Any],
    observed: dict[str, Any],
    last_applied: dict[str, Any] | None,
    rules: DiffRules,
    ignore: list[str] | None = None,
) -> list[FieldChange]:
    """Field changes that turn observed into desired (empty when they match)."""
    differ = _Differ(rules, ignore or [])
    differ.mapping("", desired, observed, last_applied)
    return differ.out


def drifted(changes: list[FieldChange], desired: dict[str, Any], last_applied: dict[str, Any] | None) -> bool:
    """True when the live side moved: some changed field is declared the same as when last applied."""
    if not last_applied:
        return False
    return any(_same_json(_lookup(desired, c.path), _lookup(last_applied, c.path)) for c in changes)


def _same_json(a: Any, b: Any) -> bool:
    return bool(a == b) or (isinstance(a, int | float) and isinstance(b, int | float) and _same(a, b))


def _lookup(doc: Any, path: str) -> Any:
    """The value at a field path ('disks[data].size_gb') in a desired-fields document, None if absent."""
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        if "[" in part:
            name, key = part[:-1].split("[", 1)
            items = node.get(name)
            node = None
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict) and key in {str(v) for v in item.values()}:
                        node = item
                        break
        else:
            node = node.get(part)
    return node
