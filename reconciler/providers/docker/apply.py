"""The only code that changes Docker engines: `compose up` (create/update/replace), `down` (delete).

Every change is idempotent: `up` converges whatever exists (a crash after a create leaves a project
that the next `up` adopts by its project name and labels), `down` of a project that is gone does
nothing. Before `up`, the engine is asked whether every image that must not be pulled is present, so
a missing image fails before anything is created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.providers.base import ApplyResult, RenderedArtifacts
from reconciler.providers.docker.compose import ComposeRunner
from reconciler.providers.docker.engine import Engine
from reconciler.providers.docker.facts import container_name, health_from_status
from reconciler.providers.docker.fields import REMOVE_VOLUMES_LABEL, SECRET_ENV_LABEL, ownership_labels
from reconciler.providers.docker.health import project_problems
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.secrets import read_secret

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILE = "homeport.override.yaml"


@dataclass
class Target:
    """Where a change goes: the engine, its Compose runner, the project and its directory."""

    engine: Engine
    runner: ComposeRunner
    lab: str
    project: str
    directory: Path
    wait_timeout: int


def compose_file_name(files: dict[str, str]) -> str:
    """Which rendered file is the compose file."""
    for name in COMPOSE_FILES:
        if name in files:
            return name
    raise PermanentProviderError(
        f"the rendered chart has no compose file (one of {', '.join(COMPOSE_FILES)}); "
        f"it produced: {', '.join(sorted(files)) or 'nothing'}"
    )


def write_artifacts(directory: Path, files: dict[str, str]) -> None:
    """Write the rendered files into the project directory (relative paths only, nothing outside)."""
    directory.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = PurePosixPath(rel)
        if path.is_absolute() or ".." in path.parts:
            raise PermanentProviderError(f"rendered file {rel!r} must be a relative path inside the chart output")
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def override_document(compose: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """A Compose override that puts homeport's labels on every service and every project volume."""
    services = compose.get("services") or {}
    if not isinstance(services, dict) or not services:
        raise PermanentProviderError("the rendered compose file declares no services")
    volume_labels = {
        k: v
        for k, v in labels.items()
        if k.startswith("homeport.") and k not in (SECRET_ENV_LABEL, REMOVE_VOLUMES_LABEL)
    }
    document: dict[str, Any] = {"services": {name: {"labels": dict(labels)} for name in services}}
    volumes = compose.get("volumes") or {}
    if isinstance(volumes, dict):
        own = {
            name: {"labels": dict(volume_labels)}
            for name, spec in volumes.items()
            if not (isinstance(spec, dict) and spec.get("external"))
        }
        if own:
            document["volumes"] = own
    return document


def secret_values(resource: EffectiveResource) -> dict[str, str]:
    """Secret values by the reconciler-side variable the compose file interpolates (`${SOURCE}`), read now."""
    values = {}
    for key, source in sorted(resource.service.secret_env.items()):
        value = read_secret(env=source, what=f"{resource.name}: secret_env {key}")
        if value is not None:
            values[source] = value
    return values


def check_images(engine: Engine, config: dict[str, Any]) -> None:
    """Fail before creating anything when an image that will not be pulled is missing on the engine."""
    for name, service in sorted((config.get("services") or {}).items()):
        image = service.get("image")
        if not image or service.get("build"):
            continue
        policy = service.get("pull_policy") or "missing"
        if policy != "never":
            continue
        missing = engine.missing_image(image)
        if missing:
            raise PermanentProviderError(
                f"engine {engine.node} ({engine.spec.display()}): service {name}: {missing} "
                "(pull_policy is never: load or build the image on that engine first)"
            )


def compose_up(
    target: Target, change: Change, resource: EffectiveResource, artifacts: RenderedArtifacts | None
) -> ApplyResult:
    """Bring the resource's project to the rendered state and wait until it is running and healthy."""
    if artifacts is None or not artifacts.files:
        raise PermanentProviderError(f"{resource.name}: the docker provider needs the rendered docker-compose chart")
    compose_name = compose_file_name(artifacts.files)
    try:
        compose_doc = yaml.safe_load(artifacts.files[compose_name]) or {}
    except yaml.YAMLError as exc:
        raise PermanentProviderError(f"{resource.name}: rendered {compose_name} is not YAML: {exc}") from exc
    if not isinstance(compose_doc, dict):
        raise PermanentProviderError(f"{resource.name}: rendered {compose_name} is not a mapping")
    secrets = secret_values(resource)
    labels = ownership_labels(target.lab, resource.name)
    if resource.service.secret_env:
        labels[SECRET_ENV_LABEL] = ",".join(sorted(resource.service.secret_env))
    if resource.sync.remove_volumes:
        labels[REMOVE_VOLUMES_LABEL] = "true"

    write_artifacts(target.directory, artifacts.files)
    override = target.directory / OVERRIDE_FILE
    override.write_text(yaml.safe_dump(override_document(compose_doc, labels), sort_keys=True), encoding="utf-8")
    files = [target.directory / compose_name, override]
    env_file = target.directory / ".env"
    env = env_file if env_file.is_file() else None

    def run(args: list[str], doing: str, timeout: float) -> str:
        output = target.runner.run(
            target.project,
            args,
            files=files,
            env_file=env,
            cwd=target.directory,
            extra_env=secrets,
            timeout=timeout,
            doing=doing,
        )
        return output.stdout

    target.engine.ping()
    rendered = run(["config", "--format", "json"], "check compose file", 120)
    check_images(target.engine, json.loads(rendered))
    args = ["up", "--detach", "--remove-orphans", "--wait", "--wait-timeout", str(target.wait_timeout)]
    if change.op in (Op.update, Op.replace):
        # A container re-created by hand may carry Compose's config-hash label while running other
        # settings; only a forced re-create is sure to converge it.
        args.append("--force-recreate")
    try:
        run(args, "compose up", target.wait_timeout + 300)
    except PermanentProviderError as exc:
        # Say which container failed and what its health check printed, besides Compose's own words.
        _, problems = project_problems(target.engine, target.project)
        raise PermanentProviderError("; ".join([str(exc), *problems])) from exc

    summaries, problems = project_problems(target.engine, target.project)
    if problems:
        raise PermanentProviderError(
            f"engine {target.engine.node}: {resource.name} is up but not ready: " + "; ".join(problems)
        )
    containers = [
        {
            "name": container_name(s),
            "id": s["Id"][:12],
            "state": s.get("State"),
            "health": health_from_status(s.get("Status", "")),
        }
        for s in sorted(summaries, key=container_name)
    ]
    checked = sum(1 for c in containers if c["health"] == "healthy")
    message = f"compose project {target.project} up on {target.engine.node}: {len(containers)} running"
    if checked:
        message += f", {checked} healthy"
    return ApplyResult(
        provider_id=target.project,
        node=target.engine.node,
        message=message,
        outputs={"containers": containers, "project": target.project},
    )


def compose_down(target: Target, resource_name: str, remove_volumes: bool) -> ApplyResult:
    """Remove the resource's containers and networks; named volumes stay unless remove_volumes."""
    compose_files = [target.directory / name for name in COMPOSE_FILES if (target.directory / name).is_file()]
    override = target.directory / OVERRIDE_FILE
    files = [compose_files[0], override] if compose_files and override.is_file() else []
    args = ["down", "--remove-orphans"]
    if remove_volumes:
        args.append("--volumes")
    env_file = target.directory / ".env"
    target.runner.run(
        target.project,
        args,
        files=files,
        env_file=env_file if files and env_file.is_file() else None,
        cwd=target.directory if target.directory.is_dir() else None,
        doing="compose down",
    )
    kept = "volumes removed" if remove_volumes else "named volumes kept"
    return ApplyResult(
        provider_id=target.project,
        node=target.engine.node,
        message=f"compose project {target.project} of {resource_name} down on {target.engine.node}: {kept}",
        outputs={"project": target.project, "volumes_removed": remove_volumes},
    )
