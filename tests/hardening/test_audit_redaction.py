"""Issue 24 item 4: agent-supplied secrets reached the hash-chained audit log in plain text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from sqlalchemy import select

from mcp_server.app import HomeportApp
from reconciler.store.audit import append_audit, audit_payload, verify_chain
from reconciler.store.tables import AuditLogRow
from tests.backends.homeport_lab import make_lab
from tests.mcp.conftest import server_for

SECRET = "hunter2-very-secret"

# (arguments an agent might send, nowhere may SECRET appear once recorded)
SHAPES: dict[str, dict[str, Any]] = {
    "mapping under a secret key": {"credentials": {"password": SECRET}},
    "whole mapping under secret key": {"api_key": {"value": SECRET, "note": "x"}},
    "list under a secret key": {"tokens": [SECRET, SECRET]},
    "nested list of mappings": {"providers": [{"name": "a", "secret": {"v": [SECRET]}}]},
    "yaml text": {"definition": f"spec:\n  password: {SECRET}\n  cpu: 2\n"},
    "env text": {"env": f"DB_PASSWORD={SECRET}\nOTHER=1"},
    "json-encoded string": {"universal_definition": json.dumps({"overrides": {"root_password": SECRET}})},
    "homeport token in text": {"note": "use hpt_" + "A" * 40 + " please"},
    "long argument": {"blob": "x" * 9000, "password": SECRET, "deep": {"token": SECRET}},
    "long text with a secret at the end": {"blob": "x" * 9000 + f" password={SECRET}"},
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_no_secret_shape_reaches_the_audit_payload(shape: str) -> None:
    kept = json.dumps(audit_payload(SHAPES[shape]))
    assert SECRET not in kept and "hpt_AAAA" not in kept, kept[:500]
    assert len(kept) <= 20_000


def test_references_and_ordinary_values_are_kept() -> None:
    kept = audit_payload({"token_secret_env": "PVE_TOKEN", "password_file": "/etc/x", "token_id": "t1",
                          "name": "web", "cpu": 2, "tags": ["a", "b"]})
    assert kept == {"token_secret_env": "PVE_TOKEN", "password_file": "/etc/x", "token_id": "t1",
                    "name": "web", "cpu": 2, "tags": ["a", "b"]}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[HomeportApp]:
    served = HomeportApp(make_lab(tmp_path / "lab"))
    yield served
    served.close()


def test_an_agents_nested_and_long_secrets_never_reach_the_log(app: HomeportApp) -> None:
    """Through the MCP server: the tool call's arguments are recorded redacted, and the chain verifies."""
    definition = {"name": "leaky", "pool": "/infrastructure/on-premise/sim/compute",
                  "requirements": {"cpu": 1, "memory_gb": 1},
                  "overrides": {"sim": {"credentials": {"password": SECRET}, "notes": "y" * 9000}}}

    async def go() -> Any:
        async with Client(server_for(app, "read")) as client:
            await client.call_tool("validate-universal-definition", {"universal_definition": definition})
            await client.call_tool("validate-universal-definition",
                                   {"universal_definition": json.dumps(definition)})

    anyio.run(go)
    with app.service.session.db.session() as s:
        rows = s.execute(select(AuditLogRow).where(AuditLogRow.tool == "validate-universal-definition")).scalars()
        recorded = [json.dumps([r.arguments, r.result]) for r in rows]
    assert len(recorded) == 2
    for text in recorded:
        assert SECRET not in text
    assert verify_chain(app.service.session.db).ok


def test_append_audit_redacts_whatever_the_caller_passes(app: HomeportApp) -> None:
    with app.service.session.db.session() as s:
        append_audit(s, lab="x", entity_type="t", entity_id="e", action="a", actor="me",
                     arguments={"password": {"nested": SECRET}, "big": "z" * 100_000},
                     result={"token": [SECRET]})
    with app.service.session.db.session() as s:
        row = s.execute(select(AuditLogRow).where(AuditLogRow.entity_type == "t")).scalar_one()
        assert SECRET not in json.dumps([row.arguments, row.result])
        assert len(json.dumps(row.arguments)) < 20_000
