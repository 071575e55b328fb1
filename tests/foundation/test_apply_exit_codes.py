"""`homeport apply` exit codes: 0 applied, 1 error, 3 failed partly, 4 held back, 5 another run holds the lock
(and --lock-timeout waits for it). A script or CI can tell that something was not applied."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from reconciler.phases.context import LabSession
from reconciler.store.locks import lab_lock
from tests.foundation.labkit import SIM_ONLY_LAB, commit, homeport, new_mini_lab, resource


def test_failed_partly_and_all_failed(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    faulty = SIM_ONLY_LAB.replace("lab: {type: sim, nodes: [n1, n2]}",
                                  "lab: {type: sim, nodes: [n1, n2], options: {faults: {b: permanent}}}")
    commit(lab, {"homeport.yaml": faulty}, "b fails")
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve", "--output", "json")
    run = json.loads(out)
    assert (code, run["status"], run["exit_code"]) == (3, "partial", 3), out
    commit(lab, {"homeport.yaml": faulty.replace("{b: permanent}", "{b: permanent, c: permanent}"),
                 "resources/c.yaml": resource("c")}, "b and c fail")
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 1 and "run failed" in out, out


def test_held_back_exits_4_and_the_run_is_partial(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path, {"a": resource("a"), "too-big": resource("too-big", cpu=64)})
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve", "--output", "json")
    run = json.loads(out)
    assert (code, run["status"]) == (4, "partial"), out
    assert [h["resource"] for h in run["held_back"]] == ["too-big"]
    assert "more than the node's 32 cores" in run["held_back"][0]["reason"]
    assert run["counts"]  # the applied part is recorded
    code, out = homeport("history", "--lab", str(lab))
    assert code == 0


def test_a_second_apply_while_a_run_holds_the_lock(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    session = LabSession.open(lab)
    try:
        with lab_lock(session.db, "mini", lock_dir=session.state_dir / "locks"):
            code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
            assert code == 5 and "run skipped" in out, out
            code, out = homeport("apply", "--lab", str(lab), "--auto-approve", "--lock-timeout", "1")
            assert code == 5, out
        holder = threading.Thread(target=hold_lock, args=(session, 1.0))
        holder.start()
        time.sleep(0.2)
        code, out = homeport("apply", "--lab", str(lab), "--auto-approve", "--lock-timeout", "30")
        holder.join()
        assert code == 0 and "run ok" in out, out
    finally:
        session.close()


def hold_lock(session: LabSession, seconds: float) -> None:
    with lab_lock(session.db, "mini", lock_dir=session.state_dir / "locks"):
        time.sleep(seconds)
