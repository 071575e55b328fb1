"""Read-only observation of Docker engines: nodes, owned compose projects, and what homeport does not manage.

Per engine and cycle: `info`, one container listing, one volume listing, one network listing. A
container is inspected only when its listing entry changed since its last inspect (or that inspect is
older than `detail_ttl`, which catches `docker update` of limits in place); otherwise the cached
detail is used. Running containers are inspected here for their limits (the node's allocation);
homeport's are read again only in `load_detail`, when the planner needs them and the cache has gone stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.models.inventory import NodeFacts, ObservedResource
from reconciler.providers.base import ProviderState
from reconciler.providers.docker.engine import Engine
from reconciler.providers.docker.facts import (
    container_name,
    count_limits,
    detail_fields,
    engine_gpus,
    merge_containers,
    node_facts,
    other_networks,
    other_volumes,
    resource_status,
    sort_listing,
    summary_fields,
    summary_fingerprint,
    unmanaged_container,
)
from reconciler.providers.docker.fields import COMPOSE_PROJECT_LABEL, DETAIL_FIELDS
from reconciler.providers.errors import ProviderError

CACHE_PREFIX = "detail/"


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


def running_limits(
    engine: Engine, summaries: list[dict[str, Any]], cache: DetailCache, now: datetime
) -> list[dict[str, Any]]:
    """Inspected details (cpus, memory_mb) of every running container, homeport's or not: the listing does not
    carry limits, so each is inspected once and cached (again only when it changes, or after detail_ttl); the
    same cache serves load_detail, so the diff inspects nothing twice."""
    running = [s for s in summaries if s.get("State") == "running"]
    return [detail for detail in (_detail(engine, s, cache, now) for s in running) if detail is not None]


def _detail(engine: Engine, summary: dict[str, Any], cache: DetailCache, now: datetime) -> dict[str, Any] | None:
    detail = cache.get(engine.node, summary, now)
    if detail is not None:
        return detail
    try:
        inspected = engine.inspect(summary["Id"])
    except ProviderError:
        return None  # allocation is best effort: the listing already told what runs there
    if inspected is None:
        return None
    fields = detail_fields(inspected)
    cache.put(engine.node, summary, fields, now)
    return fields


def observe_engine(engine: Engine, provider: str, cache: DetailCache, now: datetime) -> EngineObservation:
    """Everything one engine shows: its capacity, owned resources, and what homeport does not manage.

    I/O here (four listings, the detail cache); what they mean is decided in facts.py."""
    try:
        info = engine.info()
        facts = node_facts(provider, engine.node, info,
                           engine_gpus(info, [(g.id, g.model) for g in engine.spec.gpus]))
        listing = engine.containers()
        volumes = engine.volumes()
        networks = engine.networks()
    except ProviderError as exc:
        offline = NodeFacts(name=engine.node, provider=provider, status="offline")
        return EngineObservation(node=offline, errors=[str(exc)])
    listed = sort_listing(listing)
    cache.forget_missing(engine.node, {s["Id"] for s in listing})
    obs = EngineObservation(node=facts)
    obs.resources.extend(unmanaged_container(provider, engine.node, s) for s in listed.unmanaged)
    for key in sorted(listed.owned):
        obs.containers[f"{key[0]}/{key[1]}"] = listed.owned[key]
        obs.resources.append(observed_resource(provider, engine.node, key, listed.owned[key], cache, now))
    count_limits(facts, running_limits(engine, listing, cache, now))
    obs.resources.extend(other_volumes(provider, engine.node, volumes, listed))
    obs.resources.extend(other_networks(provider, engine.node, networks, listed))
    return obs
