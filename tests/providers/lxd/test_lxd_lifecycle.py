"""The provider against the real daemon: create, observe, no-op, update in place, stop/start, delete."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.models.plan import FieldChange, Op
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.lxd import LxdProvider
from tests.backends.lxd import BUSYBOX, DEBIAN, LxdDaemon
from tests.providers.lxd.resources import LAB, change, make_provider, provider_config, render, resource


def test_create_observe_update_delete(provider: LxdProvider, lxd: LxdDaemon) -> None:
    res = resource("web", cpu=1, memory_gb=0.25)
    result = provider.apply(change(provider, res), res, render(res))
    assert result.provider_id == "web" and "created" in result.outputs["actions"]
    assert lxd.lxc("list", "-c", "ns", "--format", "csv").stdout.strip() == "web,RUNNING"
    assert (lxd.config("web", "limits.memory"), lxd.config("web", "limits.cpu")) == ("256MiB", "1")
    assert lxd.config("web", "user.homeport.lab") == LAB

    inventory = provider.observe()
    # the listing, then host facts (cached): /1.0/resources, the pool list, the default pool's space
    assert inventory.api_calls == 4
    [web] = inventory.resources
    assert (web.name, web.owned, web.lab, web.kind, web.status, web.node) == (
        "web",
        True,
        LAB,
        "container",
        "running",
        "lxd1",
    )
    desired = provider.desired_fields(res)
    assert {k: web.fields.get(k) for k in desired} == desired
    [node] = inventory.nodes
    assert node.name == "lxd1" and node.cpu >= 1 and node.memory_gb > 0
    assert 0 < node.storage_used_gb < node.storage_gb
    assert (node.cpu_allocated, node.memory_allocated_gb) == (1.0, 0.25)
    assert provider.observe().api_calls == 1

    bigger = resource("web", cpu=1, memory_gb=0.5)
    update = change(provider, bigger, Op.update, fields=[FieldChange(path="memory_mb", old=256, new=512)])
    preview = provider.preview(update, bigger, render(bigger))
    assert preview is not None and preview["restart"] is False
    done = provider.apply(update, bigger, render(bigger))
    assert done.outputs["actions"] == ["updated in place"], done
    assert lxd.config("web", "limits.memory") == "512MiB"
    assert lxd.lxc("list", "-c", "s", "--format", "csv").stdout.strip() == "RUNNING"

    stopped = resource("web", cpu=1, memory_gb=0.5, overrides={"status": "stopped"})
    provider.apply(change(provider, stopped, Op.update), stopped, render(stopped))
    assert lxd.lxc("list", "-c", "s", "--format", "csv").stdout.strip() == "STOPPED"

    gone = provider.apply(change(provider, res, Op.delete), None, None)
    assert gone.message == "stopped and deleted" or gone.message.startswith("stopped")
    assert lxd.names() == []
    again = provider.apply(change(provider, res, Op.delete), None, None)
    assert again.message == "web is already gone"


def test_a_gpu_the_host_lacks_and_a_name_a_stranger_holds_are_refused_before_anything_changes(
    provider: LxdProvider, lxd: LxdDaemon
) -> None:
    lxd.lxc("init", BUSYBOX, "taken")
    gpu = resource("ml", gpu=True)
    taken = resource("taken")
    problems = provider.preflight([change(provider, gpu), change(provider, taken)])
    assert problems == [
        "ml: asks for 1 GPU(s) but LXD host lxd1 has 0 free (/1.0/resources lists its cards); "
        "drop gpu or place it on a host with one",
        "taken: an instance of that name exists and homeport does not manage it; rename it or the resource",
    ]
    with pytest.raises(PermanentProviderError, match=r"an instance called taken exists and is managed by nobody"):
        provider.apply(change(provider, taken), taken, render(taken))
    assert lxd.names() == ["taken"] and lxd.config("taken", "user.homeport.lab") == ""
    with pytest.raises(PermanentProviderError, match="managed by nobody"):
        provider.apply(change(provider, taken, Op.delete), None, None)
    assert lxd.names() == ["taken"]


def test_rename_keeps_the_instance_and_moves_its_ownership_key(provider: LxdProvider, lxd: LxdDaemon) -> None:
    old = resource("old-name")
    provider.apply(change(provider, old), old, render(old))
    uuid = lxd.config("old-name", "volatile.uuid")
    new = resource("new-name")
    done = provider.apply(change(provider, new, Op.rename, previous_name="old-name"), new, render(new))
    assert "renamed from old-name" in done.outputs["actions"] and "started" in done.outputs["actions"]
    assert lxd.names() == ["new-name"]
    assert lxd.config("new-name", "volatile.uuid") == uuid
    assert lxd.config("new-name", "user.homeport.resource") == "new-name"
    [seen] = provider.observe().resources
    assert (seen.name, seen.owned, seen.status) == ("new-name", True, "running")


def test_a_change_read_only_at_start_restarts_the_running_container(provider: LxdProvider, lxd: LxdDaemon) -> None:
    plain = resource("box")
    provider.apply(change(provider, plain), plain, render(plain))
    nested = resource("box", properties={"nesting": True})
    update = change(provider, nested, Op.update, fields=[FieldChange(path="nesting", old=False, new=True)])
    done = provider.apply(update, nested, render(nested))
    assert done.outputs["actions"] == ["updated in place", "restarted (nesting take effect at start)"]
    assert lxd.config("box", "security.nesting") == "true"
    assert lxd.lxc("list", "box", "-c", "s", "--format", "csv").stdout.strip() == "RUNNING"


def test_an_operation_past_its_deadline_is_transient_and_the_next_attempt_converges(
    lxd: LxdDaemon, tmp_path: Path
) -> None:
    hasty = make_provider(lxd, tmp_path, provider_config(lxd, operation_timeout=0.5))
    res = resource("slow", image=DEBIAN, storage_gb=2)
    with pytest.raises(TransientProviderError, match=r"create instance slow: operation .* still running after 0.5s"):
        hasty.apply(change(hasty, res), res, render(res))  # unpacking the Debian image takes longer
    hasty.close()
    patient = make_provider(lxd, tmp_path)
    try:
        for _ in range(30):  # as the reconciler retries a transient error
            try:
                done = patient.apply(change(patient, res), res, render(res))
                break
            except TransientProviderError as exc:
                assert "busy" in str(exc) or "still running" in str(exc), exc
                time.sleep(2)
        else:
            raise AssertionError("never converged")
        assert "created" not in done.outputs["actions"] and "started" in done.outputs["actions"]
        assert lxd.names() == ["slow"]
    finally:
        patient.close()
