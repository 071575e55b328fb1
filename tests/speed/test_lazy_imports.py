"""Lazy start-up: a command imports only what it uses (issue 21 item 1).

Each command runs in a fresh subprocess through a small wrapper that writes the names of the imported
modules at exit; the test asserts which heavy modules were NOT imported. No timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from reconciler.cli import COMMANDS, app, load_command
from reconciler.source.scaffold import create_lab

WRAPPER = """\
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: json.dump(sorted(sys.modules), open(out, "w")))
sys.argv = ["homeport", *sys.argv[2:]]
from reconciler.cli import main
main()
"""

# Never needed by a read-only command on a sim lab whose schema is current.
SERVERS = {"uvicorn", "starlette", "fastapi", "mcp", "sse_starlette", "apscheduler", "prometheus_client"}
MIGRATIONS = {"alembic", "mako"}
CLIENTS = {"httpx", "jwt", "cryptography"}
PROVIDER_SDKS = {
    "kubernetes", "docker", "boto3", "botocore", "azure", "pyVmomi", "pylxd", "ansible_runner",
}
DOORS = ("reconciler.web", "reconciler.daemon", "reconciler.identity", "mcp_server")


def imported_by(tmp_path: Path, *args: str, cwd: Path | None = None) -> tuple[set[str], str]:
    """The modules `homeport *args` imported (run in a fresh interpreter), and its stdout."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), *args], cwd=cwd or tmp_path, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text())), done.stdout


def tops(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    modules, stdout = imported_by(tmp_path, "--help")
    assert "plan" in stdout and "drill" in stdout
    assert not {m for m in modules if m.startswith("reconciler.") and m != "reconciler.cli"}
    assert not tops(modules) & (SERVERS | MIGRATIONS | CLIENTS | PROVIDER_SDKS | {"sqlalchemy", "pygit2", "pydantic"})


def test_plan_on_a_sim_lab_imports_no_server_migration_or_sdk(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    create_lab(lab)
    first, _ = imported_by(tmp_path, "plan", cwd=lab)  # creates the database: migrations run here
    assert "alembic" in tops(first)
    modules, stdout = imported_by(tmp_path, "plan", cwd=lab)
    assert "Summary:" in stdout
    assert "reconciler.cli.plan_commands" in modules
    assert not tops(modules) & (SERVERS | MIGRATIONS | CLIENTS | PROVIDER_SDKS | {"ruamel"})  # ruamel: YAML edits
    assert not [m for m in modules if m.startswith(DOORS)]
    assert not {m for m in modules if m.startswith("reconciler.cli.")} - {
        "reconciler.cli.common", "reconciler.cli.plan_commands", "reconciler.cli.plan_markdown",
        "reconciler.cli.planview", "reconciler.cli.progress",
    }


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_table_matches_each_command(name: str) -> None:
    root = get_command(app)
    real = load_command(name)
    assert real.name == name
    assert COMMANDS[name].help == real.get_short_help_str(limit=10_000)
    assert name in root.list_commands(None)  # type: ignore[arg-type]


MCP_WRAPPER = """\
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: json.dump(sorted(sys.modules), open(out, "w")))
from mcp_server.server import main
main(sys.argv[2:])
"""


def test_mcp_stdio_initialize_imports_no_web_daemon_cli_oidc_migration_or_sdk(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    create_lab(lab)
    imported_by(tmp_path, "plan", cwd=lab)  # the database exists and is current
    out = tmp_path / "mcp-modules.json"
    proc = subprocess.Popen([sys.executable, "-c", MCP_WRAPPER, str(out), "--lab", str(lab)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}) + "\n")
    proc.stdin.flush()
    assert "serverInfo" in proc.stdout.readline()
    proc.stdin.close()
    assert proc.wait(timeout=120) == 0
    modules = set(json.loads(out.read_text()))
    assert "mcp_server.tools" in modules
    assert not tops(modules) & (MIGRATIONS | PROVIDER_SDKS | {"fastapi", "jwt", "typer", "apscheduler"})
    assert not [m for m in modules if m.startswith(("reconciler.web", "reconciler.daemon", "reconciler.cli"))]
    assert not {"reconciler.identity.login", "reconciler.identity.verifier", "reconciler.identity.jwks"} & modules


MCP_HANDSHAKE_WRAPPER = """\
import json, os, sys
out = sys.argv[1]
import mcp_server.stdio as stdio
start = stdio.LabLoader.start
def record_then_start(self):
    if not os.path.exists(out):  # the modules that answered initialize, before the lab's load begins
        json.dump(sorted(sys.modules), open(out, "w"))
    start(self)
stdio.LabLoader.start = record_then_start
from mcp_server.server import main
main(sys.argv[2:])
"""


def test_mcp_stdio_answers_initialize_and_tools_list_before_importing_the_engine(tmp_path: Path) -> None:
    """The handshake and tools/list come from the SDK and the committed catalog: no reconciler module, no
    SQLAlchemy, pygit2 or tool module until initialize is answered; the lab loads after it."""
    lab = tmp_path / "lab"
    create_lab(lab)
    imported_by(tmp_path, "plan", cwd=lab)
    out = tmp_path / "handshake-modules.json"
    proc = subprocess.Popen([sys.executable, "-c", MCP_HANDSHAKE_WRAPPER, str(out), "--lab", str(lab)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    for message in ({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}):
        proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()
    assert "serverInfo" in proc.stdout.readline()
    assert "get-deployment-status" in proc.stdout.readline()
    proc.stdin.close()
    assert proc.wait(timeout=120) == 0
    modules = set(json.loads(out.read_text()))
    assert "mcp_server.catalog" in modules and "mcp_server.stdio" in modules
    assert not [m for m in modules if m.startswith(("reconciler", "mcp_server.tools", "mcp_server.app"))]
    assert not tops(modules) & ({"sqlalchemy", "pygit2", "alembic", "yaml", "ruamel"} | PROVIDER_SDKS)
