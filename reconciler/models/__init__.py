"""Typed models: desired-state kinds, the effective resource, inventory and plans."""

from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Gpu, Inventory, NodeFacts, ObservedResource
from reconciler.models.lab import Lab, LabSpec, ProviderConfig, ReconcilePolicy, SyncWindow
from reconciler.models.meta import API_VERSION, ObjectMeta
from reconciler.models.plan import Change, FieldChange, Op, Plan, Risk
from reconciler.models.pool import ResourcePool
from reconciler.models.resource import Requirements, UniversalResource
from reconciler.models.template import DeploymentTemplate

__all__ = [
    "API_VERSION",
    "Change",
    "DeploymentTemplate",
    "EffectiveResource",
    "FieldChange",
    "Gpu",
    "Inventory",
    "Lab",
    "LabSpec",
    "NodeFacts",
    "ObjectMeta",
    "ObservedResource",
    "Op",
    "Plan",
    "ProviderConfig",
    "ReconcilePolicy",
    "Requirements",
    "ResourcePool",
    "Risk",
    "SyncWindow",
    "UniversalResource",
]
