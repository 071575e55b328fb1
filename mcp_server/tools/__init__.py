"""One module per MCP tool, named after it; ALL_TOOLS lists their specs in the seed's order."""

from __future__ import annotations

from typing import Any

from mcp_server.tools import (
    analyze_cross_provider_optimization,
    analyze_resource_requirements,
    approve_proposal,
    compare_expected_vs_actual_state,
    create_infrastructure_snapshot,
    deploy_with_intelligence,
    detect_infrastructure_anomalies,
    discover_infrastructure_context,
    discover_proxmox_resources,
    execute_optimization_plan,
    find_best_provider_for_workload,
    find_optimal_placement,
    generate_template_from_instance,
    get_deployment_sop,
    get_deployment_status,
    get_placement_strategy,
    get_proposal,
    get_resource_allocation_guidelines,
    get_sop,
    list_available_helm_charts,
    list_deployment_templates,
    list_proposals,
    plan_migration_from_snapshot,
    plan_multi_provider_migration,
    propose_drift_resolution,
    propose_rollback,
    query_resource_pools,
    run_rebuild_drill,
    translate_universal_to_provider,
    update_context_after_deployment,
    update_resource_dimensions,
    validate_universal_definition,
    whatif_proposal,
)
from mcp_server.toolspec import ToolSpec

ALL_TOOLS: list[ToolSpec[Any, Any]] = [m.SPEC for m in (
    discover_infrastructure_context, find_best_provider_for_workload, analyze_resource_requirements,
    find_optimal_placement, translate_universal_to_provider, list_available_helm_charts,
    validate_universal_definition, deploy_with_intelligence, query_resource_pools, list_deployment_templates,
    get_deployment_status, update_resource_dimensions, compare_expected_vs_actual_state, propose_drift_resolution,
    generate_template_from_instance, create_infrastructure_snapshot, plan_migration_from_snapshot,
    detect_infrastructure_anomalies, discover_proxmox_resources, get_deployment_sop,
    get_resource_allocation_guidelines, get_placement_strategy, list_proposals, get_proposal, approve_proposal,
    update_context_after_deployment, analyze_cross_provider_optimization, plan_multi_provider_migration,
    execute_optimization_plan, get_sop,
    run_rebuild_drill, whatif_proposal, propose_rollback,
)]
