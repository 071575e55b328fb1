"""The planner on Azure fields: a size change is an update that says the VM restarts; unowned VMs are listed."""

from __future__ import annotations

from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.plan import Op, Plan, Risk
from reconciler.plan.planner import DesiredItem, PlanInput, build_plan
from reconciler.providers.azure.fields import DIFF_RULES, desired_fields
from reconciler.providers.azure.settings import load_settings
from tests.backends.arm import ArmServer
from tests.providers.azure.conftest import make_resource, provider_config


def _plan(server: ArmServer, live: dict[str, object], extra: list[ObservedResource] | None = None) -> Plan:
    resource = make_resource(server)
    desired = desired_fields(resource, load_settings(provider_config(server), "cloud"))
    observed = ObservedResource(name="web", provider="cloud", kind="virtual-machine", id="/subscriptions/x/vm/web",
                                node="eastus", owned=True, lab="home", fields={**desired, **live})
    inventory = Inventory(provider="cloud", provider_type="azure", resources=[observed, *(extra or [])])
    return build_plan(PlanInput(lab="home", revision="r1", desired=[DesiredItem(resource, desired, DIFF_RULES)],
                                inventories={"cloud": inventory}, provider_types={"cloud": "azure"}))


def test_a_size_change_says_it_restarts(arm_server: ArmServer) -> None:
    plan = _plan(arm_server, {"vm_size": "Standard_B2ms"})
    [change] = plan.changes
    assert change.op is Op.update and change.risk is Risk.medium
    assert change.reason == "vm_size 'Standard_B2ms' -> 'Standard_B2s'; restarts it to change vm_size"


def test_a_tag_change_is_low_risk_and_no_restart(arm_server: ArmServer) -> None:
    plan = _plan(arm_server, {"tags": {"app": "other"}})
    [change] = plan.changes
    assert change.op is Op.update and change.risk is Risk.low and "restarts" not in change.reason


def test_an_image_change_replaces_and_unowned_vms_are_listed(arm_server: ArmServer) -> None:
    stranger = ObservedResource(name="legacy", provider="cloud", id="/subscriptions/x/vm/legacy", owned=False,
                                fields={"owner": "not managed by homeport (no homeport tags)"})
    plan = _plan(arm_server, {"image": "Canonical:ubuntu:22_04:latest"}, [stranger])
    [change] = plan.changes
    assert change.op is Op.replace and change.risk is Risk.high
    assert plan.unmanaged == ["cloud/legacy (/subscriptions/x/vm/legacy)"]
