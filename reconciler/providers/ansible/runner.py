"""Run a playbook with ansible-runner and return the per-host recap.

ansible-runner starts `ansible-playbook` as a subprocess; homeport points it at the one installed
beside the running interpreter (the venv's bin directory) instead of trusting the caller's PATH.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from reconciler.providers.ansible.targets import ConfigureTarget, inventory
from reconciler.providers.base import HostResult
from reconciler.providers.errors import PermanentProviderError, TransientProviderError

PLAYBOOK_BINARY = "ansible-playbook"
KEEP_RUNS = 20  # ansible-runner artifact folders kept per work dir (newest first)


class ConfigureResult(BaseModel):
    """The outcome of one playbook run: per-host recap, status and where its artifacts are."""

    status: str
    rc: int
    hosts: list[HostResult] = Field(default_factory=list)
    artifacts: str = ""

    @property
    def ok(self) -> bool:
        """True when every host ran without failures and was reachable."""
        return self.rc == 0 and all(h.failed == 0 and h.unreachable == 0 for h in self.hosts)

    @property
    def changed(self) -> int:
        """Tasks that changed something, over all hosts."""
        return sum(h.changed for h in self.hosts)


def tools_dir() -> Path:
    """The directory holding ansible-playbook for this interpreter (the venv's bin)."""
    here = Path(sys.executable).parent
    if (here / PLAYBOOK_BINARY).exists():
        return here
    prefix_bin = Path(sys.prefix) / ("Scripts" if os.name == "nt" else "bin")
    if (prefix_bin / PLAYBOOK_BINARY).exists():
        return prefix_bin
    raise PermanentProviderError(
        f"ansible: {PLAYBOOK_BINARY} is not installed beside {sys.executable}; "
        "install homeport with the ansible extra: pip install 'homeport[ansible]'"
    )


def control_dir(work_dir: Path) -> Path:
    """A short private folder for SSH control sockets (Unix socket paths are limited to ~100 bytes)."""
    digest = hashlib.sha256(str(work_dir.resolve()).encode()).hexdigest()[:10]
    path = Path(tempfile.gettempdir()) / f"homeport-cp-{os.getuid()}-{digest}"
    path.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_uid != os.getuid() or path.stat().st_mode & 0o077:
        raise PermanentProviderError(f"ansible: {path} is not a private folder of this user; remove it")
    return path


def ansible_environment(work_dir: Path, roles_paths: list[Path] | None = None) -> dict[str, str]:
    """Environment for ansible-playbook: our tools first on PATH, quiet, no retry files, temp in work_dir."""
    bin_dir = tools_dir()
    local_tmp = work_dir / "tmp"
    local_tmp.mkdir(parents=True, exist_ok=True)
    # Our own SSH control sockets: a master connection is never shared with other tools or host-key files.
    control = control_dir(work_dir)
    env = {
        "PATH": os.pathsep.join([str(bin_dir), os.defpath]),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(local_tmp),
        # ansible-runner turns host key checking off unless told; homeport checks (accept-new, then pinned).
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_RETRIES": "2",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
        "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=30s",
        "ANSIBLE_TIMEOUT": "20",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
    }
    if roles_paths:
        env["ANSIBLE_ROLES_PATH"] = os.pathsep.join(str(p) for p in roles_paths)
    return env


INHERITED = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR", "TZ")


def clean_environment(runner_env: dict[str, Any], ours: dict[str, str]) -> dict[str, Any]:
    """The child environment: what ansible-runner added, what we set, and a few harmless inherited names."""
    return {
        k: v
        for k, v in runner_env.items()
        if k in ours or k in INHERITED or k not in os.environ or k.startswith(("ANSIBLE_", "RUNNER_"))
    }


def recap(stats: dict[str, Any] | None, targets: list[ConfigureTarget]) -> list[HostResult]:
    """Per-host ok/changed/failed/unreachable from ansible-runner's stats (every target listed)."""
    stats = stats or {}

    def count(key: str, host: str) -> int:
        """Tasks of one recap kind for one host."""
        return int((stats.get(key) or {}).get(host, 0))

    return [
        HostResult(
            host=t.name,
            ok=count("ok", t.name),
            changed=count("changed", t.name),
            failed=count("failures", t.name),
            unreachable=count("dark", t.name),
        )
        for t in targets
    ]


def prune_runs(runs: Path, keep: int) -> None:
    """Delete all but the newest `keep` run folders (their names start with a timestamp)."""
    if not runs.is_dir():
        return
    for old in sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def run_playbook(
    playbook: Path,
    targets: list[ConfigureTarget],
    *,
    work_dir: Path,
    private_key: Path | None = None,
    extravars: dict[str, Any] | None = None,
    roles_paths: list[Path] | None = None,
    timeout: int = 1800,
) -> ConfigureResult:
    """Run playbook against targets; raise only when Ansible cannot run at all (a failed host is a result)."""
    from ansible_runner.interface import init_runner

    if not playbook.is_file():
        raise PermanentProviderError(f"ansible: playbook {playbook} does not exist")
    if not targets:
        return ConfigureResult(status="skipped", rc=0)
    if private_key is not None and not private_key.is_file():
        raise PermanentProviderError(f"ansible: SSH key {private_key} does not exist; set credentials.ssh_key_file")
    base = work_dir / "ansible"
    base.mkdir(parents=True, exist_ok=True)
    env = ansible_environment(base, roles_paths)
    prune_runs(base / "runs", KEEP_RUNS - 1)
    private_data_dir = base / "runs" / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    private_data_dir.mkdir(parents=True)
    try:
        result = init_runner(
            private_data_dir=str(private_data_dir),
            playbook=str(playbook.resolve()),
            inventory=inventory(targets, private_key=private_key, known_hosts=base / "known_hosts"),
            extravars=extravars or {},
            envvars=env,
            quiet=True,
            timeout=timeout,
            suppress_env_files=True,
        )
        # ansible-runner seeds the child's environment with ours and writes it to its artifacts:
        # keep only what Ansible needs, so no credential of the reconciler reaches the playbook or disk.
        result.config.env = clean_environment(result.config.env, env)
        result.run()
    except Exception as exc:  # ansible-runner's own configuration errors
        raise TransientProviderError(f"ansible: cannot start {PLAYBOOK_BINARY}: {exc}") from exc
    finally:
        # Idle SSH masters end by themselves (ControlPersist); their sockets go now, with the folder.
        shutil.rmtree(env["ANSIBLE_SSH_CONTROL_PATH_DIR"], ignore_errors=True)
    status = str(result.status)
    if status == "timeout":
        raise TransientProviderError(f"ansible: {playbook.name} did not finish within {timeout}s")
    hosts = recap(result.stats, targets)
    if status == "failed" and not result.stats:
        tail = "".join(result.stdout.readlines()[-5:]).strip() if result.stdout else ""
        raise PermanentProviderError(f"ansible: {playbook.name} could not run (rc {result.rc}): {tail}")
    return ConfigureResult(status=status, rc=int(result.rc or 0), hosts=hosts, artifacts=str(private_data_dir))
