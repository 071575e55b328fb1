"""The pure placement function: allocation against capacity x ratio, constraints, anti-affinity, GPUs, ties."""

from __future__ import annotations

import pytest

from reconciler.models.inventory import Gpu, NodeFacts, StoragePool
from reconciler.models.placement import Demand, NodeConstraints, PlacementRules
from reconciler.models.pool import ResourcePool
from reconciler.plan.placement import Ledger, place


def node(name: str, cpu: float = 4, mem: float = 8, **kw: object) -> NodeFacts:
    return NodeFacts.model_validate({"name": name, "provider": "p", "cpu": cpu, "memory_gb": mem, **kw})


def rules(**kw: object) -> PlacementRules:
    return PlacementRules.model_validate(kw)


def demand(cpu: float = 2, mem: float = 1, **kw: object) -> Demand:
    return Demand.model_validate({"cpu": cpu, "memory_gb": mem, **kw})


# (case, nodes, demand, rules, expected node or None, text the reason must hold)
CASES = [
    (
        "vcpus beyond cores fit within the default ratio 4.0",
        [node("a", cpu_allocated=12, memory_allocated_gb=2)],
        demand(4),
        rules(),
        "a",
        "cpu 16/16",
    ),
    (
        "one vcpu past cores x ratio is refused, naming the figure",
        [node("a", cpu_allocated=13)],
        demand(4),
        rules(),
        None,
        "cpu 13 allocated + 4 > 16 (4 cores x 4)",
    ),
    (
        "a pool ratio of 1.0 makes vcpus a hard reservation",
        [node("a", cpu_allocated=2)],
        demand(4),
        rules(cpu_allocation_ratio=1.0),
        None,
        "(4 cores x 1)",
    ),
    (
        "a guest with more vcpus than the node has cores is refused whatever the ratio",
        [node("a")],
        demand(6),
        rules(cpu_allocation_ratio=16),
        None,
        "asks 6 vCPUs, more than the node's 4 cores",
    ),
    (
        "memory is not overcommitted by default",
        [node("a", memory_allocated_gb=6)],
        demand(1, 4),
        rules(),
        None,
        "memory 6 GiB allocated + 4 > 8 (8 GiB x 1)",
    ),
    (
        "a memory ratio above 1 allows ballooning overcommit",
        [node("a", memory_allocated_gb=6)],
        demand(1, 4),
        rules(memory_allocation_ratio=1.5),
        "a",
        "memory 10/12 GiB",
    ),
    (
        "usage is never a refusal: a node at 100% cpu still takes a guest within its allocation",
        [node("a", cpu_used=4, memory_used_gb=7.9)],
        demand(2, 1),
        rules(),
        "a",
        "placed on a",
    ),
    (
        "least allocated node wins",
        [node("a", cpu_allocated=8), node("b", cpu_allocated=2), node("c", cpu_allocated=5)],
        demand(1),
        rules(),
        "b",
        "runner-up c",
    ),
    (
        "usage breaks a tie in allocation",
        [node("a", cpu_used=3.5), node("b", cpu_used=0.5)],
        demand(1),
        rules(),
        "b",
        "runner-up a",
    ),
    (
        "a node that is not online is refused with its status",
        [node("a", status="offline")],
        demand(1),
        rules(),
        None,
        "a is offline",
    ),
    (
        "gpu requests go only to nodes with a free gpu of the asked model",
        [
            node("a", gpus=[Gpu(id="1", model="NVIDIA RTX 3060")]),
            node("b", gpus=[Gpu(id="2", model="NVIDIA RTX 4090")]),
        ],
        demand(1, gpus=1, gpu_model="4090"),
        rules(),
        "b",
        "placed on b",
    ),
    (
        "a gpu in use is not free",
        [node("a", gpus=[Gpu(id="1", model="RTX 4090", in_use_by="other")])],
        demand(1, gpus=1),
        rules(),
        None,
        "0 free GPU(s), needs 1",
    ),
    (
        "a guest without gpu spares the gpu node when allocation ties",
        [node("a", gpus=[Gpu(id="1", model="RTX 4090")]), node("b")],
        demand(1),
        rules(),
        "b",
        "placed on b",
    ),
    (
        "template node_constraints: has_gpu and min_memory_gb",
        [node("small", mem=64, gpus=[Gpu(id="1", model="x")]), node("big", mem=128), node("ok", mem=128,
                                                                                              gpus=[Gpu(id="2")])],
        demand(2, 16),
        rules(constraints=NodeConstraints.from_rules([{"has_gpu": True}, {"min_memory_gb": 100}])),
        "ok",
        "placed on ok",
    ),
    (
        "node_constraints refusal names the constraint",
        [node("a", mem=64)],
        demand(2, 16),
        rules(constraints=NodeConstraints.from_rules([{"has_gpu": True}])),
        None,
        "needs a node with a GPU",
    ),
    (
        "label constraints",
        [node("a", labels={"zone": "x"}), node("b", labels={"zone": "y"})],
        demand(1),
        rules(constraints=NodeConstraints.from_rules([{"labels": {"zone": "y"}}])),
        "b",
        "placed on b",
    ),
    (
        "storage is refused where the provider reports too little space",
        [node("a", storage=[StoragePool(name="local-lvm", total_gb=100, used_gb=90)])],
        demand(1, storage_gb=32, storage_pool="local-lvm"),
        rules(),
        None,
        "storage local-lvm has 10 GiB free, needs 32",
    ),
    (
        "unknown capacity (a cloud region) never refuses",
        [node("us-east-1", cpu=0, mem=0)],
        demand(64, 512),
        rules(),
        "us-east-1",
        "capacity not reported",
    ),
]


@pytest.mark.parametrize(("case", "nodes", "want", "rule", "expected", "text"), CASES, ids=[c[0] for c in CASES])
def test_placement_table(
    case: str, nodes: list[NodeFacts], want: Demand, rule: PlacementRules, expected: str | None, text: str
) -> None:
    report = place("r", want, rule, Ledger.of(nodes))
    assert report.node == expected, report.reason
    assert text in report.reason, report.reason
    if expected is None:
        assert report.source == "refused"
        assert {v.node for v in report.nodes} == {n.name for n in nodes}, "a refusal lists every node's figure"
        assert all(not v.fits and v.figure for v in report.nodes)


def test_same_input_same_node_whatever_the_list_order() -> None:
    nodes = [node("a"), node("b"), node("c")]
    first = place("web", demand(1), rules(), Ledger.of(nodes)).node
    assert place("web", demand(1), rules(), Ledger.of(list(reversed(nodes)))).node == first
    # a tie is broken by a stable hash of (resource, node): different resources spread
    picks = {place(f"web-{i}", demand(1), rules(), Ledger.of(nodes)).node for i in range(12)}
    assert len(picks) > 1


def test_alternatives_are_the_other_fitting_nodes_best_first() -> None:
    nodes = [node("a", cpu_allocated=8), node("b"), node("c", cpu=1), node("d", cpu=1, cpu_allocated=4)]
    report = place("x", demand(1), rules(), Ledger.of(nodes))
    # loads after placing: b 1/16, c 1/4, a 9/16; d is full (4 allocated + 1 > 1 x 4)
    assert (report.node, report.runner_up, report.alternatives) == ("b", "c", ["c", "a"])

    ledger = Ledger.of([node("a"), node("b"), node("c")])
    picks = [place(f"vm{i}", demand(2, 1), rules(), ledger).node for i in range(12)]
    # 12 x 2 vCPUs = 24 on 3 x 4 cores: within 4.0, spread evenly (8 vCPUs per node)
    assert sorted(picks.count(n) for n in "abc") == [4, 4, 4]
    assert place("vm13", demand(16, 1), rules(), ledger).node is None


def test_anti_affinity_keeps_replicas_apart_while_another_node_fits() -> None:
    ledger = Ledger.of([node("a"), node("b", cpu_allocated=10)])
    ha = rules(anti_affinity_group="app=web")
    first = place("web-1", demand(1), ha, ledger)
    second = place("web-2", demand(1), ha, ledger)
    assert (first.node, second.node) == ("a", "b")
    assert "anti-affinity" in second.reason
    third = place("web-3", demand(1), ha, ledger)
    assert third.node in ("a", "b") and any("anti-affinity" in w for w in third.warnings)


def test_pinned_node_is_checked() -> None:
    ledger = Ledger.of([node("a", cpu_allocated=15), node("b")])
    refused = place("x", demand(2), rules(), ledger, pinned="a")
    assert refused.node is None and refused.source == "refused"
    assert "placement.node a cannot take" in refused.reason and "cpu 15 allocated + 2 > 16" in refused.reason
    ok = place("x", demand(2), rules(), ledger, pinned="b")
    assert (ok.node, ok.source) == ("b", "pinned")
    assert "not a node of the provider" in place("x", demand(1), rules(), ledger, pinned="zzz").reason


def test_candidates_limit_the_choice() -> None:
    nodes = [node("a"), node("b")]
    assert place("x", demand(1), rules(), Ledger.of(nodes), candidates=["a"]).node == "a"
    refused = place("x", demand(1), rules(), Ledger.of(nodes), candidates=["zzz"])
    assert refused.node is None and "zzz" in refused.reason


def test_busy_node_is_a_warning_not_a_refusal() -> None:
    report = place("x", demand(1), rules(), Ledger.of([node("a", cpu_used=3.9)]))
    assert report.node == "a" and any("busy" in w for w in report.warnings)


def test_unknown_node_constraint_is_refused() -> None:
    from pydantic import ValidationError

    from reconciler.models.template import TemplateValidation

    with pytest.raises(ValidationError, match="unknown node constraint"):
        TemplateValidation(node_constraints=[{"has_gpus": True}])


@pytest.mark.parametrize(
    ("resource", "label"),
    [
        ({"name": "app1", "kind": "instance", "id": "i-0abc", "lab": "other"},
         "aws/app1 (instance i-0abc, owned by lab other)"),
        ({"name": "i-0def", "kind": "instance", "id": "i-0def"}, "aws/i-0def (instance)"),
        ({"name": "legacy", "id": "/subscriptions/x/vm/legacy"}, "aws/legacy (/subscriptions/x/vm/legacy)"),
        ({"name": "plain"}, "aws/plain"),
    ],
)
def test_unmanaged_items_name_their_id_and_owning_lab(resource: dict[str, str], label: str) -> None:
    from reconciler.models.inventory import ObservedResource
    from reconciler.plan.planner import unmanaged_label

    assert unmanaged_label("aws", ObservedResource(provider="aws", **resource)) == label


def _pool(name: str, path: str, **spec: object) -> ResourcePool:
    return ResourcePool.model_validate({"apiVersion": "homelab.ai/v1", "kind": "ResourcePool",
                                        "metadata": {"name": name}, "spec": {"path": path, **spec}})


@pytest.mark.parametrize(
    ("provider_ratio", "parent", "child", "expected"),
    [
        (None, {}, {}, 4.0),  # the default
        (2.0, {}, {}, 2.0),  # the provider's
        (2.0, {"cpu_allocation_ratio": 3.0}, {}, 3.0),  # a pool's wins over the provider's, inherited down
        (2.0, {"cpu_allocation_ratio": 3.0}, {"cpu_allocation_ratio": 1.5}, 1.5),  # the nearest pool wins
    ],
)
def test_ratio_precedence_and_template_constraints(
    provider_ratio: float | None, parent: dict[str, object], child: dict[str, object], expected: float
) -> None:
    from reconciler.models.lab import ProviderConfig
    from reconciler.models.resource import UniversalResource
    from reconciler.models.template import DeploymentTemplate
    from reconciler.source.resolve import placement_rules

    resource = UniversalResource.model_validate({
        "apiVersion": "homelab.ai/v1", "kind": "UniversalResource", "metadata": {"name": "web-2", "labels": {}},
        "spec": {"pool": "/a/b", "requirements": {"high_availability": True, "gpu": 1, "gpu_model": "4090"}}})
    template = DeploymentTemplate.model_validate({
        "apiVersion": "homelab.ai/v1", "kind": "DeploymentTemplate", "metadata": {"name": "t"},
        "spec": {"validation": {"node_constraints": [{"min_memory_gb": 32}, {"labels": {"zone": "a"}}]}}})
    chain = [_pool("a", "/a", **parent), _pool("b", "/a/b", **child)]
    rules = placement_rules(resource, template, chain, ProviderConfig(type="sim", cpu_allocation_ratio=provider_ratio),
                            resource.spec.requirements)
    assert rules.cpu_allocation_ratio == expected and rules.memory_allocation_ratio == 1.0
    assert (rules.constraints.min_memory_gb, rules.constraints.labels, rules.constraints.gpu_model) == (
        32, {"zone": "a"}, "4090")
    assert rules.anti_affinity_group == "name=web"


@pytest.mark.parametrize(
    ("provider_type", "provider_ratio", "pool_ratio", "expected"),
    [
        ("kubernetes", None, None, (1.0, 1.0)),  # the scheduler admits requests within allocatable only
        ("kubernetes", 2.0, None, (2.0, 1.0)),  # an explicit setting still wins
        ("kubernetes", None, 1.5, (1.5, 1.0)),
        ("proxmox", None, None, (4.0, 1.0)),  # hypervisors overcommit vCPUs by default
        ("lxd", None, None, (4.0, 1.0)),
    ],
)
def test_default_ratios_follow_the_providers_own_scheduler(
    provider_type: str, provider_ratio: float | None, pool_ratio: float | None, expected: tuple[float, float]
) -> None:
    from reconciler.models.desired import DesiredState
    from reconciler.models.inventory import Inventory
    from reconciler.models.lab import Lab, ProviderConfig
    from reconciler.models.resource import UniversalResource
    from reconciler.plan.capacity import capacity_report
    from reconciler.source.resolve import placement_rules

    config = ProviderConfig(type=provider_type, cpu_allocation_ratio=provider_ratio)
    resource = UniversalResource.model_validate({
        "apiVersion": "homelab.ai/v1", "kind": "UniversalResource", "metadata": {"name": "app"},
        "spec": {"pool": "/p"}})
    pool = _pool("p", "/p", provider="c", **({"cpu_allocation_ratio": pool_ratio} if pool_ratio else {}))
    rules = placement_rules(resource, None, [pool], config, resource.spec.requirements)
    assert (rules.cpu_allocation_ratio, rules.memory_allocation_ratio) == expected
    lab = Lab.model_validate({"apiVersion": "homelab.ai/v1", "kind": "Lab", "metadata": {"name": "home"},
                              "spec": {"providers": {"c": config.model_dump(exclude_none=True)}}})
    state = DesiredState(lab=lab, revision="0" * 40, pools={"p": pool})
    node = NodeFacts(name="n1", provider="c", cpu=8, memory_gb=32, cpu_allocated=6, memory_allocated_gb=8)
    report = capacity_report(state, {"c": Inventory(provider="c", provider_type=provider_type, nodes=[node])}, {})
    [row] = report.nodes
    assert (row.cpu_allocation_ratio, row.memory_allocation_ratio) == expected
    assert row.cpu_free_to_place == 8 * expected[0] - 6
