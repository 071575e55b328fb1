"""The only code that changes a swarm: `docker stack deploy` (create/update/replace) and `docker stack rm` (delete).

The docker CLI runs with a clean environment pointed at the manager (DOCKER_HOST); secret values reach it only as
environment variables the stack file interpolates. After a deploy the service's tasks are watched until every
replica runs, or the swarm's own words about failing tasks are returned as the error.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change
from reconciler.providers.base import ApplyResult, RenderedArtifacts
from reconciler.providers.docker.apply import OVERRIDE_FILE, Target, secret_values, write_artifacts
from reconciler.providers.docker.compose import _UNREACHABLE, _engine_env, _tls_cert_dir, failure_message
from reconciler.providers.docker.errors import RETRY_DELAY
from reconciler.providers.docker.fields import REMOVE_VOLUMES_LABEL, SECRET_ENV_LABEL, ownership_labels
from reconciler.providers.docker.swarm import STACK_FILE, STACK_LABEL, running_tasks, task_problems
from reconciler.providers.errors import PermanentProviderError, ProviderUnavailableError, TransientProviderError

POLL_SECONDS = 0.5
# tasks do not carry ForceUpdate or Runtime, and the swarm keeps running tasks whose only change is placement
_NOT_IN_TASK = ("ForceUpdate", "Runtime", "Placement")
STACK_VERSION = "3.9"  # `docker stack deploy` still wants a version key


def docker_cli() -> str:
    """The docker CLI (`docker stack` has no API of its own: the CLI turns a stack file into services)."""
    found = shutil.which("docker")
    if found is None:
        raise ProviderUnavailableError(
            "options.mode swarm deploys stacks with the docker CLI (`docker stack deploy`), which is not on PATH: "
            "install the docker CLI (Debian: docker.io or docker-ce-cli)"
        )
    return found


def _run(target: Target, args: list[str], *, cwd: Path | None, secrets: dict[str, str], doing: str,
         timeout: float) -> str:
    spec = target.engine.spec
    env = _engine_env(spec, _tls_cert_dir(spec, target.directory.parent))
    env.update(secrets)
    where = f"engine {spec.node} ({spec.display()})"
    try:
        done = subprocess.run([docker_cli(), *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TransientProviderError(f"{where}: {doing}: docker did not finish in {timeout:.0f}s",
                                     delay=RETRY_DELAY) from exc
    if done.returncode == 0:
        return done.stdout
    message = failure_message(done.stderr or done.stdout) or f"exit status {done.returncode}"
    for value in secrets.values():
        if value:
            message = message.replace(value, "***")
    if any(marker in message.lower() for marker in _UNREACHABLE):
        raise TransientProviderError(f"{where}: {doing}: {message}", delay=RETRY_DELAY)
    raise PermanentProviderError(f"{where}: {doing}: {message}")


def stack_override(stack_doc: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """A second stack file putting homeport's labels on every service (its containers and the service itself)."""
    services = stack_doc.get("services") or {}
    if not isinstance(services, dict) or not services:
        raise PermanentProviderError(f"the rendered {STACK_FILE} declares no services")
    return {
        "version": str(stack_doc.get("version") or STACK_VERSION),
        "services": {name: {"labels": dict(labels), "deploy": {"labels": dict(labels)}} for name in services},
    }


def same_spec(task: dict[str, Any], service: dict[str, Any]) -> bool:
    """Whether a task runs the service's current task template (see _NOT_IN_TASK for what is left aside)."""
    wanted = {k: v for k, v in ((service.get("Spec") or {}).get("TaskTemplate") or {}).items() if k not in _NOT_IN_TASK}
    have = {k: v for k, v in (task.get("Spec") or {}).items() if k not in _NOT_IN_TASK}
    return have == wanted


def wait_converged(target: Target, service: str, replicas: int, timeout: float) -> list[dict[str, Any]]:
    """Watch the service's tasks until `replicas` run; raise with the swarm's words when they do not in time."""
    deadline = time.monotonic() + timeout
    where = f"engine {target.engine.node}: stack {target.project}"
    while True:
        current = target.engine.service(service)
        update = current.get("UpdateStatus") or {}
        state = str(update.get("State", ""))
        tasks = target.engine.tasks(service)
        # only tasks of the spec just deployed count: the old ones run on until the rolling update replaces them
        running = [t for t in running_tasks(tasks) if same_spec(t, current)]
        if state in ("rollback_completed", "rollback_paused", "paused"):
            raise PermanentProviderError(
                f"{where}: the swarm's rolling update ended {state.replace('_', ' ')}: {update.get('Message', '')}; "
                + "; ".join(task_problems(tasks) or ["no task reported an error"])
            )
        if len(running) >= replicas and state not in ("updating", "rollback_started"):
            return running
        if time.monotonic() >= deadline:
            problems = task_problems(tasks) or ["no task reported an error"]
            still = f" (update {state})" if state in ("updating", "rollback_started") else ""
            raise PermanentProviderError(
                f"{where}: {len(running)} of {replicas} replicas running after {timeout:.0f}s{still}: "
                + "; ".join(problems)
            )
        time.sleep(POLL_SECONDS)


def stack_deploy(target: Target, change: Change, resource: EffectiveResource,
                 artifacts: RenderedArtifacts | None, replicas: int) -> ApplyResult:
    """Deploy the rendered stack file and wait until every replica runs."""
    if artifacts is None or STACK_FILE not in artifacts.files:
        raise PermanentProviderError(
            f"{resource.name}: a swarm provider (options.mode: swarm) needs {STACK_FILE} from the docker-compose "
            f"chart; it rendered: {', '.join(sorted(artifacts.files)) if artifacts else 'nothing'}"
        )
    try:
        stack_doc = yaml.safe_load(artifacts.files[STACK_FILE]) or {}
    except yaml.YAMLError as exc:
        raise PermanentProviderError(f"{resource.name}: rendered {STACK_FILE} is not YAML: {exc}") from exc
    labels = ownership_labels(target.lab, resource.name)
    if resource.service.secret_env:
        labels[SECRET_ENV_LABEL] = ",".join(sorted(resource.service.secret_env))
    if resource.sync.remove_volumes:
        labels[REMOVE_VOLUMES_LABEL] = "true"
    write_artifacts(target.directory, artifacts.files)
    override = target.directory / OVERRIDE_FILE
    override.write_text(yaml.safe_dump(stack_override(stack_doc, labels), sort_keys=True), encoding="utf-8")
    target.engine.ping()
    pull = str(resource.overrides.get("pull_policy", resource.properties.get("pull_policy", "missing")))
    args = ["stack", "deploy", "-c", STACK_FILE, "-c", OVERRIDE_FILE, "--prune",
            "--resolve-image", "never" if pull == "never" else "always", target.project]
    _run(target, args, cwd=target.directory, secrets=secret_values(resource), doing="stack deploy",
         timeout=target.wait_timeout + 300)
    service = f"{target.project}_{resource.name}"
    running = wait_converged(target, service, replicas, target.wait_timeout) if replicas else []
    nodes = sorted({str(t.get("NodeID", ""))[:12] for t in running})
    return ApplyResult(
        provider_id=target.project,
        node=target.engine.node,
        message=f"stack {target.project} deployed on the swarm of {target.engine.node}: {len(running)} of "
                f"{replicas} replicas running on {len(nodes)} node(s)",
        outputs={"stack": target.project, "service": service, "replicas": len(running), "swarm_nodes": nodes},
    )


def _remove_volume(target: Target, name: str) -> None:
    def remove(client: Any) -> None:
        client.remove_volume(name)

    target.engine.call("volume", f"remove volume {name}", remove)


def stack_rm(target: Target, resource_name: str, remove_volumes: bool) -> ApplyResult:
    """Remove the stack's services and networks; its named volumes stay unless remove_volumes (manager only)."""
    _run(target, ["stack", "rm", target.project], cwd=None, secrets={}, doing="stack rm", timeout=300)
    removed: list[str] = []
    if remove_volumes:
        deadline = time.monotonic() + target.wait_timeout
        while any((s.get("Labels") or {}).get(STACK_LABEL) == target.project for s in target.engine.containers()):
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        for volume in target.engine.volumes():
            if (volume.get("Labels") or {}).get(STACK_LABEL) == target.project:
                name = str(volume["Name"])
                _remove_volume(target, name)
                removed.append(name)
    kept = f"volumes removed on the manager: {', '.join(removed) or 'none'}" if remove_volumes \
        else "named volumes kept"
    return ApplyResult(
        provider_id=target.project,
        node=target.engine.node,
        message=f"stack {target.project} of {resource_name} removed from the swarm of {target.engine.node}: {kept}",
        outputs={"stack": target.project, "volumes_removed": removed},
    )
