"""What the advice doors use of the planner: its own placement and capacity functions, so that what an agent is
advised (find-optimal-placement, deploy-with-intelligence, plan-migration-from-snapshot, capacity views) is what
the plan will do. The doors reach them here, never in reconciler.plan or reconciler.source directly."""

from __future__ import annotations

from reconciler.plan.capacity import capacity_report, ratios_for_pool
from reconciler.plan.placement import Ledger, judge, place
from reconciler.providers.base import Provider
from reconciler.source.resolve import effective_resource, pool_chain

__all__ = ["Ledger", "Provider", "capacity_report", "effective_resource", "judge", "place", "pool_chain",
           "ratios_for_pool"]
