"""What a compose project reserves when placed: its containers' limits; no limit reserves nothing (Docker's cpus
is a cap, not a reservation), and the plan's notes say so. Three limitless containers on a 2-CPU engine all fit."""

from __future__ import annotations

from reconciler.models.inventory import NodeFacts
from reconciler.models.placement import PlacementRules
from reconciler.plan.placement import Ledger, place
from reconciler.providers.docker.fields import container_demand, desired_fields
from tests.providers.docker.conftest import web_resource


def test_limits_are_the_demand_and_no_limit_reserves_nothing() -> None:
    limited = web_resource("a", 8080, cpu=2, memory_gb=0.5)
    assert (container_demand(limited, desired_fields(limited)).cpu,
            container_demand(limited, desired_fields(limited)).memory_gb) == (2.0, 0.5)
    free = web_resource("b", 8081, cpu=None, memory_gb=None)
    demand = container_demand(free, desired_fields(free))
    assert (demand.cpu, demand.memory_gb) == (0, 0)
    assert demand.notes == ("cpu unset: a container without a cpu limit reserves no CPU",
                            "memory unset: a container without a memory limit reserves no memory")


def test_three_limitless_containers_all_fit_a_two_cpu_engine() -> None:
    ledger = Ledger.of([NodeFacts(name="engine1", provider="docker", cpu=2, memory_gb=4)])
    placed = []
    for i in range(3):
        resource = web_resource(f"svc{i}", 8090 + i, node=None, cpu=None, memory_gb=None)
        report = place(resource.name, container_demand(resource, desired_fields(resource)), PlacementRules(), ledger)
        placed.append(report.node)
        assert any("reserves no CPU" in w for w in report.warnings)
    assert placed == ["engine1"] * 3
