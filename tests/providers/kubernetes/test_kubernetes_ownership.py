"""Drift from managedFields, table-tested (pure): paths as read, values at leaves, what counts as changed.

The same rules run against a real kube-apiserver in test_kubernetes_drift.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reconciler.providers.kubernetes.fields import observed_fields
from reconciler.providers.kubernetes.ownership import (
    NO_VALUE,
    applied_record,
    changed_fields,
    differing,
    leaves,
    readable,
    value_at,
)


@pytest.mark.parametrize(
    ("leaf", "text"),
    [
        (("f:spec", "f:replicas"), "spec.replicas"),
        (("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}', "f:image"),
         "spec.template.spec.containers[name=web].image"),
        (("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}', "f:targetPort"),
         "spec.ports[port=80,protocol=TCP].targetPort"),
        (("f:metadata", "f:labels", "f:app.kubernetes.io/name"), 'metadata.labels["app.kubernetes.io/name"]'),
        (("f:metadata", "f:finalizers", 'v:"lab.example/keep"'), "metadata.finalizers[lab.example/keep]"),
        (("f:spec", "f:items", "i:2"), "spec.items[2]"),
    ],
)
def test_paths_read_like_the_object(leaf: tuple[str, ...], text: str) -> None:
    assert readable(leaf) == text


def test_leaves_drop_the_map_marker() -> None:
    tree = {"f:metadata": {"f:labels": {".": {}, "f:a": {}}}, "f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}}}
    assert sorted(leaves(tree)) == [
        ("f:metadata", "f:labels", "f:a"),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:image"),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:name"),
    ]


def test_values_at_leaves() -> None:
    obj = {"spec": {"containers": [{"name": "side", "image": "s"}, {"name": "web", "image": "w"}],
                    "finalizers": ["a", "b"], "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}}
    assert value_at(obj, ("f:spec", "f:containers", 'k:{"name":"web"}', "f:image")) == (True, "w")
    assert value_at(obj, ("f:spec", "f:finalizers", 'v:"b"')) == (True, "b")
    assert value_at(obj, ("f:spec", "f:containers", "i:0", "f:name")) == (True, "side")
    assert value_at(obj, ("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}', "f:targetPort")) == (True, 8080)
    assert value_at(obj, ("f:spec", "f:containers", 'k:{"name":"gone"}', "f:image")) == (False, None)
    assert value_at(obj, ("f:spec", "f:replicas")) == (False, None)


def test_differing_names_the_sub_paths() -> None:
    rules = [{"host": "a", "http": {"paths": [{"path": "/"}]}}]
    assert differing(rules, [{"host": "b", "http": {"paths": [{"path": "/"}]}}]) == ["[0].host"]
    assert differing({"x.y/z": 1, "k": 2}, {"x.y/z": 3, "k": 2}) == ['["x.y/z"]']
    assert differing([1], [1, 2]) == [""]
    assert differing({"a": 1}, {"a": 1}) == []


def entry(manager: str, fields: dict[str, Any], operation: str = "Update", time: str = "2026-12-07T06:00:01Z",
          api_version: str = "networking.k8s.io/v1") -> dict[str, Any]:
    return {"manager": manager, "operation": operation, "apiVersion": api_version, "time": time,
            "fieldsType": "FieldsV1", "fieldsV1": fields}


MINE = {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:ingressClassName": {}, "f:rules": {}}}


def ingress(host: str, managed: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "labels": {"app": "web"}, "managedFields": managed},
            "spec": {"ingressClassName": "traefik", "rules": [{"host": host, "http": {"paths": []}}]}}


def test_applied_record_and_what_counts_as_changed() -> None:
    applied = ingress("web.lan", [entry("homeport", MINE, "Apply", "2026-12-07T06:00:00Z")])
    record = applied_record(applied)
    assert record["fields"] == [
        [["f:metadata", "f:labels", "f:app"], "web"],
        [["f:spec", "f:ingressClassName"], "traefik"],
        [["f:spec", "f:rules"], [{"host": "web.lan", "http": {"paths": []}}]],
    ]
    assert changed_fields(applied, record) == []

    # Another manager took spec.rules with a new host: drift, naming the path inside the atomic list.
    homeport_left = {"f:metadata": MINE["f:metadata"], "f:spec": {"f:ingressClassName": {}}}
    edited = ingress("evil.lan", [entry("homeport", homeport_left, "Apply"), entry("ops", {"f:spec": {"f:rules": {}}})])
    assert changed_fields(edited, record) == ['Ingress/web:spec.rules[0].host = "evil.lan" (field manager ops)']
    # Taken over with the value homeport applied: nothing differs, no drift (homeport's next apply shares it).
    same = ingress("web.lan", edited["metadata"]["managedFields"])
    assert changed_fields(same, record) == []
    # A skipped leaf (an autoscaler's replicas) never counts.
    assert changed_fields(edited, record, {("f:spec", "f:rules")}) == []
    # An annotation or label another manager adds is not in the record.
    extra = copy.deepcopy(applied)
    extra["metadata"]["labels"]["team"] = "x"
    extra["metadata"]["managedFields"].append(entry("ops", {"f:metadata": {"f:labels": {"f:team": {}}}}))
    assert changed_fields(extra, record) == []
    # Removed by another manager's update, which then owns nothing of it: named with whoever wrote last.
    removed = copy.deepcopy(applied)
    del removed["metadata"]["labels"]["app"]
    removed["metadata"]["managedFields"] = [
        entry("homeport", {"f:spec": MINE["f:spec"]}, "Apply", "2026-12-07T06:00:00Z"),
        entry("ops", {"f:metadata": {"f:annotations": {"f:x": {}}}}),
    ]
    assert changed_fields(removed, record) == [
        "Ingress/web:metadata.labels.app removed (last written by field manager ops)"
    ]


def test_secret_values_are_withheld_and_a_later_writer_is_drift() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "data": {"PW": "aHVudGVy"},
              "metadata": {"name": "s", "managedFields": [
                  entry("homeport", {"f:stringData": {"f:PW": {}}, "f:type": {}}, "Apply", api_version="v1")]},
              "type": "Opaque"}
    record = applied_record(secret)
    assert record["fields"] == [[["f:stringData", "f:PW"], NO_VALUE], [["f:type"], "Opaque"]]
    assert "aHVudGVy" not in str(record)
    assert changed_fields(secret, record) == []
    secret["metadata"]["managedFields"].append(entry("ops", {"f:data": {"f:PW": {}}}, time="2026-12-07T06:05:00Z"))
    assert changed_fields(secret, record) == ["Secret/s:data.PW (field manager ops)"]
    # homeport's next apply records the writer as it then stood: no drift until it writes again.
    assert changed_fields(secret, applied_record(secret)) == []


def test_objects_without_a_record_keep_the_watched_fields() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "managedFields": [
        entry("homeport", {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {
            "f:image": {}}}}}}}, "Apply", api_version="apps/v1"),
        entry("ops", {"f:spec": {"f:replicas": {}}, "f:metadata": {"f:annotations": {"f:x": {}}}},
              api_version="apps/v1"),
    ]}, "spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "web", "image": "i"}]}}}}
    assert observed_fields("web", [deployment], "nvidia.com/gpu")["taken"] == [
        "Deployment/web:spec.replicas (field manager ops)"
    ]
