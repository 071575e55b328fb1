"""`tools/list` at the default toolsets and scopes stays within 40 KB (issue 21 item 4): a byte count.

homeport-mcp runs over stdio in a subprocess; the test sends initialize and tools/list as JSON-RPC lines
and counts the bytes of the answer. It also checks that the trimmed output schemas still accept what
a tool really returns (clients validate structured results against them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema

from mcp_server.schemas import compact_input, trim_output
from reconciler.source.scaffold import create_lab

LIMIT = 40 * 1024


def rpc(proc: subprocess.Popen[str], message: dict[str, Any]) -> str | None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()
    return proc.stdout.readline() if "id" in message else None


def test_tools_list_at_default_toolsets_and_scopes_is_at_most_40_kb(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    create_lab(lab)
    server = str(Path(sys.executable).parent / "homeport-mcp")
    proc = subprocess.Popen([server, "--lab", str(lab)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        init = rpc(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "size-test", "version": "1"}}})
        assert init and "serverInfo" in init
        rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        answer = rpc(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)
    assert answer is not None
    tools = json.loads(answer)["result"]["tools"]
    names = {tool["name"] for tool in tools}
    assert {"get-deployment-status", "query-resource-pools", "deploy-with-intelligence"} <= names
    assert "approve-proposal" not in names  # the local caller's default scopes are read, propose
    assert len(answer.encode()) <= LIMIT, f"tools/list is {len(answer.encode())} bytes for {len(tools)} tools"
    for tool in tools:
        assert tool["description"] and tool["inputSchema"]["type"] == "object"
        jsonschema.Draft202012Validator.check_schema(tool["inputSchema"])
        jsonschema.Draft202012Validator.check_schema(tool["outputSchema"])


NESTED = {
    "$defs": {
        "Kind": {"enum": ["a", "b"], "type": "string"},
        "Row": {"properties": {"x": {"type": "integer"}}, "required": ["x"], "type": "object"},
    },
    "properties": {
        "summary": {"type": "string", "description": "one line"},
        "kind": {"$ref": "#/$defs/Kind"},
        "rows": {"items": {"$ref": "#/$defs/Row"}, "type": "array"},
        "best": {"anyOf": [{"$ref": "#/$defs/Row"}, {"type": "null"}], "default": None},
        "anything": {"anyOf": [{"type": "string"}, {}]},
        "names": {"items": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "type": "array"},
    },
    "required": ["summary", "kind", "rows"],
    "type": "object",
}


def test_trimmed_output_schema_accepts_what_the_full_one_accepts_and_keeps_types() -> None:
    trimmed = trim_output(NESTED)
    good = {"summary": "s", "kind": "a", "rows": [{"x": 1}], "best": None, "anything": 3, "names": ["n", None]}
    jsonschema.validate(good, NESTED)
    jsonschema.validate(good, trimmed)
    assert trimmed["properties"]["kind"] == {"enum": ["a", "b"], "type": "string"}
    assert trimmed["properties"]["best"] == {"type": ["null", "object"]}
    assert trimmed["properties"]["summary"]["description"] == "one line"
    assert "required" not in trimmed  # the result carries every field; the list costs bytes in every tools/list
    for wrong in ({**good, "kind": "c"}, {**good, "rows": "x"}, {**good, "summary": 1}):
        try:
            jsonschema.validate(wrong, trimmed)
        except jsonschema.ValidationError:
            continue
        raise AssertionError(f"trimmed schema accepted {wrong}")


def test_compact_input_keeps_constraints_of_nullable_fields() -> None:
    schema = {"title": "Input", "additionalProperties": False, "type": "object", "properties": {
        "name": {"anyOf": [{"maxLength": 3, "type": "string"}, {"type": "null"}], "default": None, "title": "Name"},
        "mode": {"anyOf": [{"enum": ["a"], "type": "string"}, {"type": "null"}], "title": "Mode"},
    }}
    small = compact_input(schema)
    assert small["properties"]["name"] == {"maxLength": 3, "type": ["string", "null"]}
    assert "anyOf" in small["properties"]["mode"] and "title" not in small
    validator = jsonschema.Draft202012Validator(small)
    assert validator.is_valid({"name": None}) and validator.is_valid({"name": "abc"})
    assert not validator.is_valid({"name": "abcd"}) and not validator.is_valid({"other": 1})
