"""The OpenAPI contract, checked by schemathesis against the served schema: every operation (examples,
coverage, fuzzing and stateful phases), once with a read token and once with an admin token. No 5xx, every
response (status, content type, headers, body) as documented, invalid requests refused, scopes enforced.

Not run: `positive_data_acceptance`, which expects any schema-valid value to be accepted; opaque cursors
and YAML files are strings in the schema, and one the server did not make is rightly refused (400, 422).
The admin run leaves out DELETE /tokens/{token}: links from GET /tokens would revoke the run's own token
(test_api covers revoking). GET /events is a never-ending stream (test_browser covers it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.web.conftest import ARTIFACTS, Server

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance,negative_data_rejection,missing_required_header,ignored_auth")


def schemathesis(server: Server, token: str, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the schemathesis CLI (from this venv) against the live server."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    st = Path(sys.executable).with_name("st")
    cmd = [str(st), "run", f"{server.url}/api/v1/openapi.json", "-H", f"Authorization: Bearer {token}",
           "--checks", CHECKS, "--max-examples", "15", "--seed", "19", "--exclude-path", "/events",
           "--request-timeout", "60", "--no-color", "--report", "junit",
           "--report-junit-path", str(ARTIFACTS / f"schemathesis-{name}.xml"), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=False)


@pytest.mark.slow
def test_contract_with_a_read_token(server: Server) -> None:
    result = schemathesis(server, server.tokens.read, "read")
    (ARTIFACTS / "schemathesis-read.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "API Operations" in result.stdout


@pytest.mark.slow
def test_contract_with_an_admin_token(server: Server) -> None:
    result = schemathesis(server, server.tokens.admin, "admin", "--exclude-method", "DELETE")
    (ARTIFACTS / "schemathesis-admin.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "Stateful" in result.stdout
