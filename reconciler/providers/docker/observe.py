"""Read-only observation of Docker engines: nodes, owned compose projects, and what homeport does not manage.

Per engine and cycle: `info`, one container listing, one volume listing, one network listing. A
container is inspected only when its listing entry changed since its last inspect (or that inspect is
older than `detail_ttl`, which catches `docker update` of limits in place); otherwise the cached
detail is used. Inspects happen in `load_detail`, when the planner needs them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.models.inventory import NodeFacts, ObservedResource
from reconciler.providers.base import LAB_LABEL, OWNER_LABEL, OWNER_VALUE, RESOURCE_LABEL, ProviderState
from reconciler.providers.docker.engine import Engine
from reconciler.providers.docker.fields import (
    COMPOSE_PROJECT_LABEL,
    DETAIL_FIELDS,
    container_name,
    detail_fields,
    merge_containers,
    resource_status,
    summary_fields,
    summary_fingerprint,
)
from reconciler.providers.errors import ProviderError

CACHE_PREFIX = "detail/"
DEFAULT_NETWORKS = ("bridge", "host", "none")
GIB = 1024**3


class DetailCache:
    """Inspected container fields kept in the provider's durable state, keyed by engine and container id.

    An entry is valid while the container's listing fingerprint is unchanged and it is younger than
    the ttl. Secret values never reach it: detail fields are masked before they are stored.
    """

    def __init__(self, state: ProviderState, ttl: int) -> None:
        self.state = state
        self.ttl = ttl
        self._entries: dict[str, Any] | None = None

    def _all(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = dict(self.state.items(CACHE_PREFIX))
        return self._entries

    @staticmethod
    def key(node: str, container_id: str) -> str:
        """The state key of a container's cached detail."""
        return f"{CACHE_PREFIX}{node}/{container_id}"

    def get(self, node: str, summary: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        """Cached detail fields for a listed container, if still valid."""
        entry = self._all().get(self.key(node, summary["Id"]))
        if not isinstance(entry, dict) or entry.get("fp") != summary_fingerprint(summary):
            return None
        try:
            age = (now - datetime.fromisoformat(entry["at"])).total_seconds()
        except (KeyError, TypeError, ValueError):
            return None
        if age < 0 or age > self.ttl:
            return None
        fields = entry.get("fields")
        return dict(fields) if isinstance(fields, dict) else None

    def put(self, node: str, summary: dict[str, Any], fields: dict[str, Any], now: datetime) -> None:
        """Remember a container's freshly inspected fields."""
        entry = {"fp": summary_fingerprint(summary), "at": now.isoformat(), "fields": fields}
        key = self.key(node, summary["Id"])
        self._all()[key] = entry
        self.state.put(key, entry)

    def forget_missing(self, node: str, present_ids: set[str]) -> None:
        """Drop entries of containers no longer on the engine."""
        prefix = f"{CACHE_PREFIX}{node}/"
        for key in [k for k in self._all() if k.startswith(prefix)]:
            if key[len(prefix) :] not in present_ids:
                del self._all()[key]
                self.state.delete(key)


@dataclass
class EngineObservation:
    """What one engine showed in one cycle."""

    node: NodeFacts
    resources: list[ObservedResource] = field(default_factory=list)
    containers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def node_facts(provider: str, node: str, info: dict[str, Any]) -> NodeFacts:
    """A node's capacity from `docker info` (NCPU, MemTotal)."""
    labels = {}
    for item in info.get("Labels") or []:
        key, _, value = str(item).partition("=")
        labels[key] = value
    labels["docker.version"] = str(info.get("ServerVersion", ""))
    return NodeFacts(
        name=node,
        provider=provider,
        status="online",
        cpu=float(info.get("NCPU") or 0),
        memory_gb=round(float(info.get("MemTotal") or 0) / GIB, 2),
        labels=labels,
    )


def is_homeport(labels: dict[str, str]) -> bool:
    """Whether labels carry homeport's ownership marker."""
    return labels.get(OWNER_LABEL) == OWNER_VALUE and bool(labels.get(RESOURCE_LABEL))


def resource_fields(
    node: str, summaries: list[dict[str, Any]], cache: DetailCache, now: datetime
) -> tuple[dict[str, Any], bool]:
    """One resource's fields from listings and cached details, and whether they are complete."""
    per_container = []
    complete = True
    for summary in sorted(summaries, key=container_name):
        fields = summary_fields(summary)
        detail = cache.get(node, summary, now)
        if detail is None:
            complete = False
        else:
            fields.update({k: detail[k] for k in DETAIL_FIELDS if k in detail})
        per_container.append(fields)
    merged = merge_containers(per_container)
    if not complete:
        for key in DETAIL_FIELDS:
            merged.pop(key, None)
    return merged, complete


def load_container_details(
    engine: Engine, summaries: list[dict[str, Any]], cache: DetailCache, now: datetime
) -> list[dict[str, Any]]:
    """Inspect containers whose cached detail is stale (one inspect each); return those still there."""
    present = []
    for summary in summaries:
        if cache.get(engine.node, summary, now) is None:
            inspected = engine.inspect(summary["Id"])
            if inspected is None:
                continue
            cache.put(engine.node, summary, detail_fields(inspected), now)
        present.append(summary)
    return present


def observed_resource(
    provider: str,
    node: str,
    key: tuple[str, str],
    summaries: list[dict[str, Any]],
    cache: DetailCache,
    now: datetime,
) -> ObservedResource:
    """One owned resource (a compose project on one engine) from its containers."""
    lab, name = key
    fields, complete = resource_fields(node, summaries, cache, now)
    projects = sorted({(s.get("Labels") or {}).get(COMPOSE_PROJECT_LABEL, "") for s in summaries})
    return ObservedResource(
        name=name,
        provider=provider,
        kind="compose-project",
        id=projects[0] if projects else None,
        node=node,
        owned=True,
        lab=lab,
        status=resource_status(fields),
        fields=fields,
        detail_loaded=complete,
    )


def observe_engine(engine: Engine, provider: str, cache: DetailCache, now: datetime) -> EngineObservation:
    """Everything one engine shows: its capacity, owned resources, and what homeport does not manage."""
    try:
        facts = node_facts(provider, engine.node, engine.info())
        listing = engine.containers()
        volumes = engine.volumes()
        networks = engine.networks()
    except ProviderError as exc:
        offline = NodeFacts(name=engine.node, provider=provider, status="offline")
        return EngineObservation(node=offline, errors=[str(exc)])

    obs = EngineObservation(node=facts)
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    owned_projects: set[str] = set()
    used_volumes: set[str] = set()
    for summary in listing:
        labels = summary.get("Labels") or {}
        for mount in summary.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Name"):
                used_volumes.add(str(mount["Name"]))
        if is_homeport(labels):
            grouped[(labels.get(LAB_LABEL, ""), labels[RESOURCE_LABEL])].append(summary)
            if labels.get(COMPOSE_PROJECT_LABEL):
                owned_projects.add(labels[COMPOSE_PROJECT_LABEL])
            continue
        obs.resources.append(
            ObservedResource(
                name=container_name(summary),
                provider=provider,
                kind="container",
                id=summary.get("Id"),
                node=engine.node,
                owned=False,
                status=str(summary.get("State", "unknown")),
                fields={"image": summary.get("Image", ""), "status": summary.get("State", "unknown")},
            )
        )
    cache.forget_missing(engine.node, {s["Id"] for s in listing})

    for key in sorted(grouped):
        obs.containers[f"{key[0]}/{key[1]}"] = grouped[key]
        obs.resources.append(observed_resource(provider, engine.node, key, grouped[key], cache, now))
        if obs.resources[-1].owned:  # a limit is what a container may take; an unset limit reserves nothing
            facts.cpu_allocated += float(obs.resources[-1].fields.get("cpus") or 0)
            facts.memory_allocated_gb += float(obs.resources[-1].fields.get("memory_mb") or 0) / 1024
            facts.guests += 1

    for volume in volumes:
        labels = volume.get("Labels") or {}
        name = str(volume.get("Name", ""))
        if name in used_volumes and (is_homeport(labels) or labels.get(COMPOSE_PROJECT_LABEL) in owned_projects):
            continue
        if is_homeport(labels):
            # Data a deleted resource left behind on purpose: reported, kept, never touched.
            obs.resources.append(
                ObservedResource(
                    name=name,
                    provider=provider,
                    kind="volume",
                    node=engine.node,
                    owned=False,
                    lab=labels.get(LAB_LABEL),
                    status="retained",
                    fields={"resource": labels[RESOURCE_LABEL]},
                )
            )
            continue
        obs.resources.append(
            ObservedResource(
                name=name,
                provider=provider,
                kind="volume",
                node=engine.node,
                owned=False,
                status="in-use" if name in used_volumes else "unused",
                fields={"driver": volume.get("Driver", "")},
            )
        )

    for network in networks:
        labels = network.get("Labels") or {}
        name = str(network.get("Name", ""))
        if name in DEFAULT_NETWORKS or labels.get(COMPOSE_PROJECT_LABEL) in owned_projects:
            continue
        obs.resources.append(
            ObservedResource(
                name=name,
                provider=provider,
                kind="network",
                id=network.get("Id"),
                node=engine.node,
                owned=False,
                status="present",
                fields={"driver": network.get("Driver", "")},
            )
        )
    return obs
