# mypy: disable-error-code="no-untyped-call"
"""Waiting on vSphere tasks with a deadline, through the property collector (no busy polling)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from pyVmomi import vim, vmodl

from reconciler.providers.errors import TransientProviderError
from reconciler.providers.vmware.connection import Connection
from reconciler.providers.vmware.errors import map_error, vsphere_errors

MAX_WAIT_SLICE = 30


def wait_for_task(conn: Connection, task: vim.Task, timeout: float, action: str) -> Any:
    """The task's result once it succeeds; its fault mapped to our errors; Transient after `timeout` s."""
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=task, skip=False)],
        propSet=[pc.PropertySpec(type=vim.Task, pathSet=["info.state", "info.error", "info.result"], all=False)],
    )
    deadline = time.monotonic() + timeout
    with vsphere_errors(f"{action}: wait for task"):
        collector = conn.content.propertyCollector.CreatePropertyCollector()
    try:
        with vsphere_errors(f"{action}: wait for task"):
            collector.CreateFilter(spec, partialUpdates=False)
        version = ""
        state: str | None = None
        error: Any = None
        result: Any = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientProviderError(
                    f"{action}: task {task._moId} still running after {timeout:.0f} s; it is left to "
                    "finish and the next run converges",
                    delay=30.0,
                )
            options = pc.WaitOptions(maxWaitSeconds=max(1, min(int(remaining), MAX_WAIT_SLICE)))
            with vsphere_errors(f"{action}: wait for task"):
                update = collector.WaitForUpdatesEx(version, options)
            if update is None:
                continue
            version = update.version
            for filter_update in update.filterSet or []:
                for object_update in filter_update.objectSet or []:
                    for change in object_update.changeSet or []:
                        if change.name == "info.state":
                            state = str(change.val)
                        elif change.name == "info.error":
                            error = change.val
                        elif change.name == "info.result":
                            result = change.val
            if state == vim.TaskInfo.State.success:
                return result
            if state == vim.TaskInfo.State.error:
                if error is None:
                    raise map_error(vmodl.fault.SystemError(msg="task failed without a fault"), action)
                raise map_error(error, action)
    finally:
        with contextlib.suppress(Exception):
            collector.DestroyPropertyCollector()
