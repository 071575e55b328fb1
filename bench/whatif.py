"""What-if of one proposal and the rebuild drill on a sim lab of 1,000 resources.

Usage: python bench/whatif.py [--size 1000]
The lab is generated, committed and applied once (the real apply path); a snapshot is taken; a proposal adds
one resource. Then, in this process, the what-if of that proposal (target: <= 2 s on 1,000 resources) and the
rebuild drill (every resource re-created on a scratch lab) are timed. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from noop_reconcile import make_lab

from reconciler.models.plan import Mode
from reconciler.proposals.create import ProposalDraft
from reconciler.service import commands
from reconciler.service.drill import rebuild_drill
from reconciler.service.lab import LabService
from reconciler.service.whatif import whatif_proposal

NEW = b"""apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {name: whatif-new}
spec:
  workload_type: web-app
  pool: /bench/compute
  requirements: {cpu: 4, memory_gb: 8, storage_gb: 20}
"""


def main() -> None:
    """Build, apply, propose; time the what-if and the drill."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        lab = make_lab(Path(root), args.size)
        with LabService.open(lab) as service:
            started = time.perf_counter()
            run = commands.apply(service, mode=Mode.manual, trigger="bench")
            print(f"setup: applied {args.size} resources in {time.perf_counter() - started:.1f} s ({run.status})")
            commands.snapshot(service, name="bench")
            proposal = commands.propose(service, ProposalDraft(title="one more", edits={
                "resources/whatif-new.yaml": NEW}), auto_merge=False)
        with LabService.open(lab) as service:
            service.state()  # main loaded once, as in a serving door
            started = time.perf_counter()
            report = whatif_proposal(service, proposal.id)
            whatif_s = time.perf_counter() - started
            started = time.perf_counter()
            drill = rebuild_drill(service)
            drill_s = time.perf_counter() - started
        print(f"what-if, {args.size} resources, one proposal: {whatif_s:.2f} s (target <= 2 s: "
              f"{'met' if whatif_s <= 2 else 'MISSED'}); {report.summary}")
        print(f"rebuild drill, {args.size} resources re-created: {drill_s:.2f} s; {drill.score}")


if __name__ == "__main__":
    main()
