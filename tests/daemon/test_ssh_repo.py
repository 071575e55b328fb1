"""The daemon mirrors a lab over SSH with a key from HOMEPORT_GIT_SSH_KEY, and refuses an unknown host key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.backends.ssh import SshHosts
from tests.daemon.labrepo import LabRepo, lab_files

HOMEPORT = str(Path(sys.executable).parent / "homeport")


def _once(url: str, state: Path, home: Path, key: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "HOMEPORT_GIT_SSH_KEY": str(key)}
    env.pop("HOMEPORT_DATABASE_URL", None)
    return subprocess.run([HOMEPORT, "daemon", "--repo", url, "--state-dir", str(state), "--once", "--port", "0",
                           "-o", "json"], env=env, capture_output=True, text=True, timeout=300)


def test_ssh_key_auth_and_host_key_check(tmp_path: Path, ssh_hosts: SshHosts) -> None:
    forge = LabRepo(tmp_path / "forge.git", bare=True)
    forge.commit(lab_files(2), "lab")
    host = ssh_hosts.hosts[0]
    url = f"ssh://{ssh_hosts.user}@{host.address}:{host.port}{forge.path.resolve()}"
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)

    refused = _once(url, tmp_path / "state", home, ssh_hosts.private_key)
    assert refused.returncode == 2
    error = json.loads(refused.stdout)["error"]
    assert f"the host key of {host.address} is not in ~/.ssh/known_hosts" in error
    assert not (tmp_path / "state" / "mirror.git" / "refs" / "heads" / "main").exists()

    key_type, key_data = host.host_public_key.split()[:2]
    (home / ".ssh" / "known_hosts").write_text(f"[{host.address}]:{host.port} {key_type} {key_data}\n")
    done = _once(url, tmp_path / "state", home, ssh_hosts.private_key)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    run = json.loads(done.stdout)
    assert run["status"] == "ok" and run["revision"] == forge.head() and run["counts"]["applied"] == 2
