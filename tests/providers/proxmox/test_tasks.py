"""The per-node task limit: never more than `limit` tasks at once on a node, other nodes unaffected."""

from __future__ import annotations

import threading

from reconciler.providers.proxmox.tasks import NodeSlots, upid_node


def test_node_slots_bound_concurrency_per_node() -> None:
    slots = NodeSlots(2)
    gate = threading.Event()
    inside = {"pve1": 0, "pve2": 0}
    peak = {"pve1": 0, "pve2": 0}
    lock = threading.Lock()
    entered = threading.Semaphore(0)

    def task(node: str) -> None:
        with slots.hold(node):
            with lock:
                inside[node] += 1
                peak[node] = max(peak[node], inside[node])
            entered.release()
            gate.wait(10)
            with lock:
                inside[node] -= 1

    threads = [threading.Thread(target=task, args=(n,)) for n in ["pve1"] * 5 + ["pve2"] * 2]
    for t in threads:
        t.start()
    for _ in range(4):  # two on pve1 and two on pve2 get in while the gate is shut
        assert entered.acquire(timeout=10)
    assert inside == {"pve1": 2, "pve2": 2}
    gate.set()
    for t in threads:
        t.join(10)
    assert peak == {"pve1": 2, "pve2": 2} and inside == {"pve1": 0, "pve2": 0}


def test_upid_node() -> None:
    assert upid_node("UPID:pve2:000003E8:00001B58:6B06E2AC:qmcreate:100:root@pam:") == "pve2"
