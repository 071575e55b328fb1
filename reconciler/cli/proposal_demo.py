"""The demo's proposal step: an agent proposes a change, a person merges it, the reconciler applies it."""

from __future__ import annotations

from pathlib import Path

from reconciler.cli.common import Output, console, open_lab
from reconciler.cli.plan_commands import print_run
from reconciler.cli.proposal_commands import print_proposal
from reconciler.models.plan import Mode
from reconciler.service import LabService, commands, edits

PROPOSAL_STEP = ("5b. An agent proposes a change (a branch with one commit and a plan), a person merges it, "
                 "the reconciler applies it")

DEMO_SPEC = {
    "resource_type": "compute",
    "workload_type": "web-app",
    "pool": "/infrastructure/on-premise/sim/compute",
    "requirements": {"cpu": 2, "memory_gb": 2, "storage_gb": 20},
    "deployment": {"environment": "production", "monitoring": "enabled"},
    "service": {"image": "grafana/grafana:11.3.0", "ports": [{"name": "http", "port": 3000}]},
}


def propose_merge_reconcile(lab: Path) -> None:
    """What an agent does through homeport-mcp (deploy-with-intelligence), then a person, then the daemon."""
    with LabService.open(lab, actor="agent:demo (homeport-mcp)", actor_kind="agent") as agent:
        state = agent.state()
        path, data = edits.new_object(state, "UniversalResource", "grafana", DEMO_SPEC, labels={"app": "grafana"},
                                      header="Proposed by an agent through homeport-mcp: dashboards for the lab")
        proposal = commands.propose(agent, edits.ProposalDraft(
            title="Deploy grafana (web-app) on lab", edits={path: data},
            reason="The user asked for dashboards; 2 CPUs and 2 GiB fit on the sim pool.",
            evidence={"tool": "deploy-with-intelligence"}), auto_merge=False)
    console.print("[dim]$ (agent) deploy-with-intelligence {name: grafana, ...}  -> a proposal branch, "
                  "nothing applied[/]")
    print_proposal(proposal, diff=False)
    console.print(f"[dim]$ homeport proposals approve {proposal.id} --lab {lab}   (a person merges it)[/]")
    with open_lab(lab) as person:
        merged = commands.approve(person, proposal.id)
    console.print(f"merged into main ({'fast-forward' if merged.fast_forward else 'merge commit'}, "
                  f"{merged.merged_commit[:12]}); {merged.note}")
    console.print("[dim]$ homeport daemon --once   (the reconciler applies what was merged)[/]")
    with open_lab(lab, actor="daemon") as daemon:
        print_run(commands.apply(daemon, mode=Mode.auto, trigger="demo"), Output.text)
