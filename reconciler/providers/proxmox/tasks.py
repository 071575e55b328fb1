"""Waiting on PVE worker tasks (UPIDs), and bounding concurrent tasks per node."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.errors import LOCK_DELAY, LOCKED


@dataclass(frozen=True)
class TaskPolicy:
    """How long to wait for a task, and how often to ask."""

    timeout: float = 600.0
    poll: float = 1.0


def upid_node(upid: str) -> str:
    """The node a UPID ran on: UPID:<node>:..."""
    parts = upid.split(":")
    if len(parts) < 3 or parts[0] != "UPID":
        raise PermanentProviderError(f"proxmox: not a task id: {upid!r}")
    return parts[1]


def wait_for_task(
    client: PveClient, upid: str, *, policy: TaskPolicy, sleep: Callable[[float], None], what: str
) -> None:
    """Block until the task ends; a failed task raises with PVE's exit status, a slow one is transient.

    Elapsed time is counted in poll intervals (not the wall clock), so an injected sleep keeps tests fast.
    """
    node = upid_node(upid)
    waited = 0.0
    while True:
        status = client.get(f"nodes/{node}/tasks/{upid}/status")
        if status.get("status") == "stopped":
            exit_status = str(status.get("exitstatus") or "")
            if exit_status == "OK" or exit_status.startswith("WARNINGS"):
                return
            message = f"proxmox: {what} failed on {node}: {exit_status or 'no exit status'} (task {upid})"
            if LOCKED.search(exit_status):
                raise TransientProviderError(message, LOCK_DELAY)
            raise PermanentProviderError(message)
        if waited >= policy.timeout:
            raise TransientProviderError(
                f"proxmox: {what} still running on {node} after {policy.timeout:g}s (task {upid}); "
                "the next run checks it again",
                policy.poll * 5,
            )
        sleep(policy.poll)
        waited += policy.poll


class NodeSlots:
    """At most `limit` concurrent tasks per node: PVE locks guest configs and clones contend."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def _slot(self, node: str) -> threading.BoundedSemaphore:
        with self._lock:
            if node not in self._slots:
                self._slots[node] = threading.BoundedSemaphore(self.limit)
            return self._slots[node]

    @contextmanager
    def hold(self, node: str) -> Iterator[None]:
        """Take one of the node's task slots for the duration of the block."""
        slot = self._slot(node)
        slot.acquire()
        try:
            yield
        finally:
            slot.release()


def run_task(
    client: PveClient,
    slots: NodeSlots,
    node: str,
    start: Callable[[], object],
    *,
    policy: TaskPolicy,
    sleep: Callable[[float], None],
    what: str,
) -> None:
    """Start a task within the node's concurrency limit and wait for it (null: it ran inline)."""
    with slots.hold(node):
        upid = start()
        if isinstance(upid, str) and upid.startswith("UPID:"):
            wait_for_task(client, upid, policy=policy, sleep=sleep, what=what)
