"""The REST API against a served lab: auth and scopes, problem+json, cursor paging, ETags, Host check, and
the proposal flow (create from a YAML edit, approve with the approve scope, the run that applies it)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.web.conftest import Server

LISTS = ["/api/v1/pools", "/api/v1/templates", "/api/v1/resources", "/api/v1/instances", "/api/v1/runs",
         "/api/v1/deviations", "/api/v1/deviations/timeline", "/api/v1/snapshots", "/api/v1/proposals",
         "/api/v1/audit"]


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation in the OpenAPI document."""
    return [(method.upper(), path, op) for path, item in schema["paths"].items() for method, op in item.items()]


def test_schema_is_openapi_31_and_names_a_scope_for_every_operation(server: Server) -> None:
    schema = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    ops = operations(schema)
    assert len(ops) >= 30
    for method, path, op in ops:
        assert op.get("x-required-scope") in ("read", "propose", "approve", "admin"), (method, path)
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "Problem" in schema["components"]["schemas"]


def test_no_token_is_401_problem_with_a_challenge(server: Server) -> None:
    with server.client() as c:
        r = c.get("/api/v1/lab")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    body = r.json()
    assert body["status"] == 401 and "homeport token create" in body["detail"]
    with server.client("hpt_not-a-token") as c:
        assert c.get("/api/v1/lab").status_code == 401


def test_read_token_is_refused_every_operation_that_needs_more(server: Server) -> None:
    schema = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    refused = 0
    with server.client(server.tokens.read) as c:
        for method, path, op in operations(schema):
            if op["x-required-scope"] == "read":
                continue
            url = "/api/v1" + path.replace("{", "").replace("}", "")  # any name: the scope check comes first
            r = c.request(method, url, json={})
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["code"] == "forbidden"
            assert f"'{op['x-required-scope']}' scope" in r.json()["detail"]
            refused += 1
    assert refused >= 7


@pytest.mark.parametrize("path", LISTS)
def test_lists_page_with_cursors(server: Server, path: str) -> None:
    with server.client(server.tokens.admin) as c:
        whole = c.get(path, params={"limit": 500}).json()
        seen: list[Any] = []
        cursor = None
        for _ in range(200):
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = c.get(path, params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["items"]) <= 2
            seen += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
    assert seen == whole["items"]


def test_resources_first_page_and_one_resource(server: Server) -> None:
    with server.client(server.tokens.read) as c:
        page = c.get("/api/v1/resources", params={"limit": 3}).json()
        assert [r["name"] for r in page["items"]] == sorted(r["name"] for r in page["items"])
        assert page["next_cursor"]
        detail = c.get("/api/v1/resources/ollama-server").json()
    assert detail["effective"]["name"] == "ollama-server"
    sources = {o["path"]: o["source"] for o in detail["origins"]}
    assert sources["requirements.cpu"] == "resource"
    assert "pool" in sources.values()
    assert detail["file"].startswith("resources/")


def test_bad_cursor_and_limits_are_invalid_problems(server: Server) -> None:
    with server.client(server.tokens.read) as c:
        r = c.get("/api/v1/resources", params={"cursor": "!!!not-a-cursor"})
        assert r.status_code == 400 and r.json()["code"] == "invalid"
        assert r.json()["errors"][0]["loc"] == ["query", "cursor"]
        r = c.get("/api/v1/runs", params={"cursor": "WyJ4Il0"})  # ["x"]: not a run cursor
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
        r = c.get("/api/v1/resources", params={"limit": 0})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["loc"] == ["query", "limit"]


def test_unknown_names_are_404_problems(server: Server) -> None:
    with server.client(server.tokens.read) as c:
        for path in ("/api/v1/resources/nope", "/api/v1/instances/nope", "/api/v1/pools/nope",
                     "/api/v1/templates/nope", "/api/v1/proposals/nope", "/api/v1/snapshots/nope",
                     "/api/v1/runs/nope", "/api/v1/resources/nope/rendered"):
            r = c.get(path)
            assert r.status_code == 404, path
            assert r.json()["code"] == "not_found" and r.json()["instance"] == path


def test_reads_carry_etags_and_revalidate_with_304(server: Server) -> None:
    with server.client(server.tokens.read) as c:
        first = c.get("/api/v1/resources")
        etag = first.headers["etag"]
        again = c.get("/api/v1/resources", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert c.get("/api/v1/resources", headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_foreign_host_header_is_refused_but_health_answers(server: Server) -> None:
    with server.client(server.tokens.read) as c:
        assert c.get("/api/v1/lab", headers={"Host": "attacker.example:80"}).status_code == 421
        assert c.get("/", headers={"Host": "attacker.example"}).status_code == 421
        assert c.get("/healthz", headers={"Host": "homeport.lan"}).json()["ok"] is True
        assert b"process_" in c.get("/metrics").content or c.get("/metrics").status_code == 200


def test_mcp_is_served_on_the_same_port(server: Server) -> None:
    with server.client() as c:
        r = c.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                   headers={"Accept": "application/json, text/event-stream"})
    assert r.status_code == 401  # bearer tokens required, as for homeport-mcp over HTTP


def test_tokens_admin_create_list_revoke_never_show_a_stored_secret(server: Server) -> None:
    with server.client(server.tokens.admin) as c:
        created = c.post("/api/v1/tokens", json={"name": "ci-bot", "scopes": ["read"]})
        assert created.status_code == 201
        secret = created.json()["secret"]
        listed = c.get("/api/v1/tokens").text
        assert "ci-bot" in listed and secret not in listed
        with server.client(secret) as bot:
            assert bot.get("/api/v1/lab").status_code == 200
        assert c.delete(f"/api/v1/tokens/{created.json()['token']['id']}").json() == {"revoked": 1}
        with server.client(secret) as bot:
            assert bot.get("/api/v1/lab").status_code == 401
        bad = c.post("/api/v1/tokens", json={"name": "x", "scopes": ["root"]})
        assert bad.status_code == 422


def wait_for_run_after(c: httpx.Client, run_ids: set[str], timeout: float = 120) -> dict[str, Any]:
    """The first finished run not among run_ids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in c.get("/api/v1/runs", params={"limit": 5}).json()["items"]:
            if run["id"] not in run_ids and run["finished_at"]:
                return dict(run)
        time.sleep(0.3)
    raise AssertionError("no run finished")


def test_propose_from_yaml_edit_then_approve_applies_it(server: Server) -> None:
    with server.client(server.tokens.agent) as agent:
        source = agent.get("/api/v1/resources/web-frontend/source").json()
        assert "kind: UniversalResource" in source["text"]
        edited = source["text"].replace("memory_gb: 4", "memory_gb: 6", 1)
        assert edited != source["text"], source["text"]
        r = agent.post("/api/v1/proposals", json={"title": "More memory for web-frontend", "reason": "OOM kills",
                                                   "evidence": {"oom_kills": 3}, "files": {source["path"]: edited}})
        assert r.status_code == 201, r.text
        proposal = r.json()
        assert proposal["status"] == "open" and proposal["author"].startswith("tester via token agent")
        assert agent.post(f"/api/v1/proposals/{proposal['id']}/approve").status_code == 403
    with server.client(server.tokens.reviewer) as reviewer:
        shown = reviewer.get(f"/api/v1/proposals/{proposal['id']}").json()
        assert [c["op"] for c in shown["plan"]["changes"]] == ["update"]
        before = {r["id"] for r in reviewer.get("/api/v1/runs", params={"limit": 50}).json()["items"]}
        approved = reviewer.post(f"/api/v1/proposals/{proposal['id']}/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["proposal"]["status"] == "merged"
        run = wait_for_run_after(reviewer, before)
        assert run["status"] == "ok" and run["trigger"] == "web" and run["summary"].get("applied") == 1
        assert reviewer.post(f"/api/v1/proposals/{proposal['id']}/approve").status_code == 409
        instance = reviewer.get("/api/v1/instances/web-frontend").json()
        assert instance["matches"] is True


def test_invalid_yaml_edit_is_refused_naming_file_and_field(server: Server) -> None:
    with server.client(server.tokens.agent) as agent:
        source = agent.get("/api/v1/resources/web-frontend/source").json()
        broken = source["text"].replace("resource_type:", "resource_tipe:", 1)
        r = agent.post("/api/v1/proposals", json={"title": "broken", "files": {source["path"]: broken}})
    assert r.status_code == 422
    assert source["path"] in r.json()["detail"]
    with server.client(server.tokens.agent) as agent:
        r = agent.post("/api/v1/proposals", json={"title": "escape", "files": {"../etc/passwd.yaml": "x: 1"}})
    assert r.status_code == 422


def test_tree_lists_a_few_per_pool_and_the_rest_is_a_filtered_list(server: Server) -> None:
    def find(nodes: list[dict[str, Any]], path: str) -> dict[str, Any]:
        for node in nodes:
            if node["path"] == path:
                return node
            try:
                return find(node["children"], path)
            except LookupError:
                continue
        raise LookupError(path)

    path = "/infrastructure/on-premise/sim/compute"
    with server.client(server.tokens.read) as c:
        tree = c.get("/api/v1/pools/tree", params={"per_pool": 1}).json()
        node = find(tree["pools"], path)
        assert node["resources_total"] == 2 and len(node["resources"]) == 1
        listed = c.get("/api/v1/resources", params={"pool": path}).json()
    assert sorted(r["name"] for r in listed["items"]) == ["ci-runner", "web-frontend"]
    sim = next(p for p in tree["providers"] if p["name"] == "lab")
    assert sim["resources"] == 3 and sim["in_sync"] + sim["drifted"] + sim["not_applied"] <= 3
