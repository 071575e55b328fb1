"""Deterministic placement: same inventory and input give the same node; capacity and GPUs respected."""

from __future__ import annotations

from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Gpu, NodeFacts
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec
from reconciler.plan.placement import Reservations, place


def res(name: str, cpu: int = 2, mem: float = 4, gpu: int = 0, nodes: list[str] | None = None) -> EffectiveResource:
    return EffectiveResource(
        name=name,
        lab="t",
        resource_type="compute",
        workload_type="x",
        provider="p",
        provider_type="sim",
        pool="/p",
        pool_name="p",
        candidate_nodes=nodes or [],
        requirements=Requirements(cpu=cpu, memory_gb=mem, gpu=gpu),
        deployment=Deployment(),
        network=NetworkSpec(),
        service=ServiceSpec(),
    )


def nodes() -> list[NodeFacts]:
    return [
        NodeFacts(name="a", provider="p", cpu=16, memory_gb=64, memory_used_gb=40),
        NodeFacts(
            name="b",
            provider="p",
            cpu=16,
            memory_gb=64,
            memory_used_gb=8,
            gpus=[Gpu(id="0000:01:00.0", model="RTX 4090")],
        ),
        NodeFacts(name="c", provider="p", cpu=16, memory_gb=64, memory_used_gb=8),
    ]


def test_most_free_capacity_wins_and_is_repeatable() -> None:
    first = [place(res("web"), nodes()).node for _ in range(5)]
    assert len(set(first)) == 1 and first[0] in ("b", "c")
    # b and c are equal: the tie is broken by a stable hash of (resource, node), not by list order
    assert place(res("web"), list(reversed(nodes()))).node == first[0]


def test_gpu_requests_go_to_nodes_with_free_gpus() -> None:
    decision = place(res("llm", gpu=1), nodes())
    assert decision.node == "b"
    taken = nodes()
    taken[1].gpus[0].in_use_by = "other"
    refused = place(res("llm", gpu=1), taken)
    assert refused.node is None and "free GPU" in refused.reason


def test_memory_is_a_hard_limit_and_reservations_accumulate() -> None:
    reserved = Reservations()
    placed = [place(res(f"r{i}", mem=30), nodes(), reserved).node for i in range(3)]
    assert sorted(p for p in placed if p) == ["b", "c"]
    assert placed[2] is None


def test_candidate_nodes_limit_the_choice() -> None:
    assert place(res("x", nodes=["a"]), nodes()).node == "a"
    assert place(res("x", nodes=["zzz"]), nodes()).node is None
