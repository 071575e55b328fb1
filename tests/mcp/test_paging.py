"""Paged listings (limit, cursor, fields, all) through real MCP clients on a real fake PVE with 60 guests:
in process, over stdio (a spawned homeport-mcp) and over streamable HTTP with a bearer token."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from mcp_server.app import HomeportApp
from reconciler.service import queries
from reconciler.store.tokens import create_token
from tests.backends.pve import PveBackend
from tests.mcp.conftest import server_for
from tests.mcp.test_proxmox_discovery import _lab
from tests.mcp.test_transports import HttpServer

TOOL = "discover-proxmox-resources"
BIN = Path(sys.executable).parent


def _add_guests(pve: PveBackend, count: int) -> None:
    for i in range(count):
        pve.pve.add_vm(400 + i, f"guest-{400 + i}", node=f"pve{i % 3 + 1}", status="running",
                       config={"cores": 1, "memory": 512})


async def _walk(client: Client, limit: int, **extra: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """Every page of the listing: (guests in order, each page's structured content)."""
    guests: list[dict[str, Any]] = []
    pages: list[Any] = []
    cursor: str | None = None
    while True:
        args: dict[str, Any] = {"limit": limit, **extra, **({"cursor": cursor} if cursor else {})}
        result = await client.call_tool(TOOL, args)
        assert not result.is_error, result.content[0].text
        data = result.structured_content
        pages.append(data)
        guests += data["discovered_resources"]
        cursor = data["next_cursor"]
        if cursor is None:
            return guests, pages
        assert len(pages) < 100


def test_pages_cover_every_guest_once_in_order_and_match_all(tmp_path: Path, pve: PveBackend) -> None:
    """limit 7 over 63 guests: 9 pages, every guest once, the same as `all: true`; counts describe the whole
    listing; the default answer is one page, much smaller than the full one."""
    _add_guests(pve, 60)
    app = HomeportApp(_lab(tmp_path, pve))
    try:
        async def go() -> tuple[Any, Any, Any]:
            async with Client(server_for(app, "read")) as client:
                walked = await _walk(client, 7)
                full = await client.call_tool(TOOL, {"all": True})
                default = await client.call_tool(TOOL, {})
                return walked, full, default

        (guests, pages), full, default = anyio.run(go)
    finally:
        app.close()
    everything = full.structured_content
    assert everything["next_cursor"] is None and everything["total"] == len(everything["discovered_resources"])
    assert guests == everything["discovered_resources"]
    assert len({(g["provider"], g["vmid"]) for g in guests}) == len(guests) == everything["total"] == 63
    assert [int(g["vmid"]) for g in guests] == sorted(int(g["vmid"]) for g in guests)
    assert len(pages) == 9 and all(p["total"] == 63 for p in pages)
    assert everything["counts"]["by_node"] == {"pve1": 21, "pve2": 21, "pve3": 21}
    assert everything["counts"]["managed"] == {"not_managed": 63}
    page = default.structured_content
    assert len(page["discovered_resources"]) == 25 and page["next_cursor"] and "25 of 63 guests" in page["summary"]
    assert len(default.content[0].text) * 2 < len(full.content[0].text)
    unmanaged = {g["name"] for p in pages for g in p["new_resources_found"]}
    assert {"plex", "scratch", "guest-400"} <= unmanaged


def test_paging_is_stable_when_guests_come_and_go_between_pages(tmp_path: Path, pve: PveBackend) -> None:
    """Keyset paging: a guest created before the cursor and one removed after it change neither the order nor
    the membership of the other guests; a guest created after the cursor shows on a later page."""
    _add_guests(pve, 30)
    app = HomeportApp(_lab(tmp_path, pve))
    try:
        async def go() -> tuple[Any, list[dict[str, Any]]]:
            async with Client(server_for(app, "read")) as client:
                first = (await client.call_tool(TOOL, {"limit": 10})).structured_content
                pve.pve.add_vm(120, "early", node="pve1", config={"cores": 1, "memory": 512})   # before the cursor
                pve.pve.add_vm(999, "late", node="pve2", config={"cores": 1, "memory": 512})    # after it
                pve.pve.vms.remove(pve.guest("guest-420"))                                     # after it, gone
                rest, _pages = await _walk(client, 10, cursor=first["next_cursor"])
                return first, rest

        first, rest = anyio.run(go)
    finally:
        app.close()
    seen = [g["name"] for g in first["discovered_resources"]] + [g["name"] for g in rest]
    assert len(seen) == len(set(seen))
    assert "early" not in seen and "late" in seen and "guest-420" not in seen
    before = {"plex", "scratch", "debian-12-cloud"} | {f"guest-{400 + i}" for i in range(30)} - {"guest-420"}
    assert before <= set(seen)


def test_bad_cursor_fields_and_limit_are_clear_errors(tmp_path: Path, pve: PveBackend) -> None:
    """A mangled cursor, a cursor used with other filters, an unknown field, a limit out of range: one line
    each that says what to do, never a traceback; fields picks what each guest carries."""
    _add_guests(pve, 30)
    app = HomeportApp(_lab(tmp_path, pve))
    try:
        async def go() -> list[Any]:
            async with Client(server_for(app, "read")) as client:
                first = (await client.call_tool(TOOL, {"limit": 5})).structured_content
                return [
                    await client.call_tool(TOOL, {"cursor": "not-a-cursor!"}),
                    await client.call_tool(TOOL, {"cursor": "eyJ4IjoxfQ"}),  # valid base64 JSON, not ours
                    await client.call_tool(TOOL, {"cursor": first["next_cursor"], "proxmox_node": "pve2"}),
                    await client.call_tool(TOOL, {"fields": ["name", "ram"]}),
                    await client.call_tool(TOOL, {"limit": 0}),
                    await client.call_tool(TOOL, {"fields": ["name", "vmid", "cores"], "limit": 3}),
                    await client.call_tool("list-proposals", {"cursor": first["next_cursor"]}),
                ]

        mangled, foreign, other_filters, field, limit, picked, other_tool = anyio.run(go)
    finally:
        app.close()
    for bad in (mangled, foreign, other_filters, field, limit):
        assert bad.is_error and "Traceback" not in bad.content[0].text
    assert "invalid cursor" in mangled.content[0].text and "without `cursor`" in mangled.content[0].text
    assert "invalid cursor" in foreign.content[0].text
    assert "other filter arguments" in other_filters.content[0].text
    assert "unknown field(s) ram" in field.content[0].text and "memory_mb" in field.content[0].text
    assert "`limit`" in limit.content[0].text
    assert not picked.is_error
    assert [set(g) for g in picked.structured_content["discovered_resources"]] == [{"name", "vmid", "cores"}] * 3
    assert other_tool.is_error and "invalid cursor" in other_tool.content[0].text


def test_warm_reads_make_one_pve_request_and_see_changes(tmp_path: Path, pve: PveBackend) -> None:
    """A warm call costs one GET /cluster/resources; a guest stopped out of band shows on the next call."""
    _add_guests(pve, 20)
    app = HomeportApp(_lab(tmp_path, pve))
    try:
        async def go() -> tuple[Any, Any, list[tuple[str, str]]]:
            async with Client(server_for(app, "read")) as client:
                await client.call_tool(TOOL, {})
                start = len(pve.pve.requests)
                warm = await client.call_tool(TOOL, {"all": True})
                requests = pve.requests_since(start)
                pve.guest("guest-405").status = "stopped"
                after = await client.call_tool(TOOL, {"all": True})
                return warm, after, requests

        warm, after, requests = anyio.run(go)
    finally:
        app.close()
    assert requests == [("GET", "/api2/json/cluster/resources")]
    status = {g["name"]: g["status"] for g in warm.structured_content["discovered_resources"]}
    assert status["guest-405"] == "running"
    status = {g["name"]: g["status"] for g in after.structured_content["discovered_resources"]}
    assert status["guest-405"] == "stopped"
    assert after.structured_content["counts"]["by_status"]["stopped"] == 2  # scratch and guest-405


def test_paging_over_stdio_and_http(tmp_path: Path, pve: PveBackend) -> None:
    """The same walk through a spawned `homeport-mcp` (stdio) and through the HTTP app with a token."""
    _add_guests(pve, 20)
    lab = _lab(tmp_path, pve)
    # The SDK passes a spawned server only a few variables; the PVE token's come along explicitly.
    params = StdioServerParameters(command=str(BIN / "homeport-mcp"), args=["--lab", str(lab)], cwd=str(lab),
                                   env=dict(os.environ))

    async def over_stdio() -> list[dict[str, Any]]:
        async with Client(params) as client:
            return (await _walk(client, 6))[0]

    stdio_guests = anyio.run(over_stdio)
    app = HomeportApp(lab)
    try:
        token, _ = create_token(app.service.session.db, "home", name="pager", owner="ann", scopes=("read",))
        with HttpServer(app) as http:
            async def over_http() -> list[dict[str, Any]]:
                async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as session, \
                        Client(streamable_http_client(http.url, http_client=session)) as client:
                    return (await _walk(client, 6))[0]

            http_guests = anyio.run(over_http)
    finally:
        app.close()
    assert len(stdio_guests) == 23 and stdio_guests == http_guests
    assert {"plex", "scratch", "guest-419"} <= {g["name"] for g in stdio_guests}


def test_read_audit_rows_are_written_in_call_order_and_flushed(module_lab: Path) -> None:
    """Reads' rows come a moment after their answers, in call order; flush_audits writes them at once, and a
    proposing call's row (written before its answer) comes after the reads before it."""
    app = HomeportApp(module_lab)
    try:
        async def go() -> None:
            async with Client(server_for(app, "read", "propose")) as client:
                for _ in range(3):
                    await client.call_tool("list-proposals", {"limit": 1})
                await client.call_tool("get-deployment-status", {"instance_name": "web-frontend"})
                await client.call_tool("update-resource-dimensions", {
                    "resource_id": "web-frontend", "resource_type": "instance", "dimensions": {"audit": "order"}})

        anyio.run(go)
        rows = queries.audit(app.service, limit=50)
    finally:
        app.close()
    tools = [r.tool for r in sorted(rows, key=lambda r: r.seq) if r.tool and r.entity_type == "mcp-tool"]
    assert tools[-5:] == ["list-proposals"] * 3 + ["get-deployment-status", "update-resource-dimensions"]


def test_query_resource_pools_summarises_each_pools_resources(module_lab: Path) -> None:
    """Each pool says how many resources it holds and names the first 20; all_resources names every one."""
    app = HomeportApp(module_lab)
    try:
        async def go() -> tuple[Any, Any]:
            async with Client(server_for(app, "read")) as client:
                return (await client.call_tool("query-resource-pools", {}),
                        await client.call_tool("query-resource-pools", {"all_resources": True}))

        summary, full = anyio.run(go)
        declared = app.state().effective
    finally:
        app.close()
    assert not summary.is_error and not full.is_error
    for short, every in zip(summary.structured_content["pools"], full.structured_content["pools"], strict=True):
        assert short["resource_count"] == every["resource_count"] == len(every["resources"])
        assert short["resources"] == every["resources"][:20]
        assert every["resources"] == sorted(r.name for r in declared.values() if r.pool == every["path"])
    assert sum(p["resource_count"] for p in full.structured_content["pools"]) > 0
