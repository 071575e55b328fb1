"""Lists paged in the database, on SQLite and on a real PostgreSQL: more rows than the old in-memory caps
(the deviation timeline read 5,000 rows, snapshots 10,000, proposals 100,000), every row exactly once and in
order when a client follows `next_cursor`, rows sharing a timestamp kept apart by their id, and a cursor this
server did not make for the list refused with a 400 naming the `cursor` parameter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from reconciler.service import LabService, commands
from reconciler.store.tables import InfrastructureSnapshotRow, ProposalRow, StateDeviationRow
from reconciler.web.paging import encode_cursor
from reconciler.web.serve import serve_lab
from reconciler.web.settings import WebSettings
from tests.backends.homeport_lab import make_lab
from tests.web.conftest import free_socket, uvicorn_on
from tests.web.test_sessions import login_form

DEVIATIONS = 5_003  # over the timeline's old 5,000
SNAPSHOTS = 10_003  # over the snapshot list's old 10,000
PROPOSALS = 100_003  # over the proposal list's old 100,000
REJECTED_EVERY = 97  # ~1,031 rejected proposals: walked page by page with ?status=rejected
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Seeded:
    """A served lab with bulk-inserted rows, and each list's expected order of ids."""

    url: str
    token: str
    timeline: list[str]
    open_deviations: list[str]
    snapshots: list[str]
    snapshot_keys: list[tuple[datetime, str]]
    proposals: list[tuple[datetime, str]]
    rejected: list[str]

    def client(self) -> httpx.Client:
        """An API client with the admin token."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=120)


def _stamp(i: int, share: int) -> datetime:
    # `share` consecutive rows get one timestamp, so the id alone orders them.
    return BASE + timedelta(seconds=i // share)


def _seed(lab: LabService) -> tuple[list[str], list[str], list[tuple[datetime, str]], list[tuple[datetime, str]],
                                   list[str]]:
    name = lab.lab_name
    Rows = list[dict[str, Any]]
    deviations: Rows = [{"id": f"d{i:031x}", "lab": name, "resource": f"res-{i % 40:02d}", "field_path": f"f.{i:05d}",
                   "detected_at": _stamp(i, 3), "last_seen_at": _stamp(i, 3),
                   "resolved_at": None if i % 2 else _stamp(i, 3), "resolution": None if i % 2 else "adopted"}
                  for i in range(DEVIATIONS)]
    snapshots: Rows = [{"id": f"s{i:031x}", "lab": name, "name": f"snap {i}", "snapshot_data": {"n": i},
                  "created_at": _stamp(i, 4)} for i in range(SNAPSHOTS)]
    proposals: Rows = [{"id": f"p{i:031x}", "lab": name, "title": f"proposal {i}", "branch": f"proposals/p{i}",
                  "base_commit": "0" * 40, "head_commit": "1" * 40, "author": "bulk",
                  "status": "rejected" if i % REJECTED_EVERY == 0 else "merged", "created_at": _stamp(i, 5)}
                 for i in range(PROPOSALS)]
    with lab.session.db.session() as s:
        s.execute(insert(StateDeviationRow), deviations)
        s.execute(insert(InfrastructureSnapshotRow), snapshots)
        s.execute(insert(ProposalRow), proposals)

    def newest_first(rows: list[dict[str, Any]], stamp: str) -> list[dict[str, Any]]:
        return sorted(rows, key=lambda r: (r[stamp], r["id"]), reverse=True)

    timeline = [r["id"] for r in newest_first(deviations, "detected_at")]
    open_devs = [r["id"] for r in sorted((r for r in deviations if r["resolved_at"] is None),
                                         key=lambda r: (r["resource"], r["field_path"], r["id"]))]
    snaps = [(r["created_at"], r["id"]) for r in newest_first(snapshots, "created_at")]
    props = [(r["created_at"], r["id"]) for r in newest_first(proposals, "created_at")]
    rejected = [r["id"] for r in newest_first([p for p in proposals if p["status"] == "rejected"], "created_at")]
    return timeline, open_devs, snaps, props, rejected


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A lab (not applied) whose database holds the bulk rows, served on a free port."""
    lab_dir = make_lab(tmp_path_factory.mktemp("keyset") / "lab", apply=False)
    database_url: str | None = None
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        database_url = server.create_database()
    try:
        with LabService.open(lab_dir, database_url=database_url, actor="test") as lab:
            token = commands.create_token(lab, name="admin", scopes="admin", owner="tester").secret
            timeline, open_devs, snaps, props, rejected = _seed(lab)
        sock = free_socket()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        served = serve_lab(lab_dir, settings=WebSettings(poll_seconds=5), public_url=url, database_url=database_url,
                           with_mcp=False)
        try:
            with uvicorn_on(served, sock):
                yield Seeded(url=url, token=token, timeline=timeline, open_deviations=open_devs,
                             snapshots=[i for _, i in snaps], snapshot_keys=snaps, proposals=props, rejected=rejected)
        finally:
            served.close()
            sock.close()
    finally:
        if database_url is not None:
            server.drop_database(database_url)


def walk(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor from the first page to the last."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(10_000):
        query = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
        page = client.get(path, params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 500
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path} did not end")


def test_the_timeline_pages_past_the_old_cap_once_and_in_order(seeded: Seeded) -> None:
    with seeded.client() as c:
        ids = [d["id"] for d in walk(c, "/api/v1/deviations/timeline")]
    assert len(ids) == DEVIATIONS > 5_000
    assert ids == seeded.timeline


def test_open_deviations_page_by_resource_and_field(seeded: Seeded) -> None:
    with seeded.client() as c:
        ids = [d["id"] for d in walk(c, "/api/v1/deviations")]
        one = [d["resource"] for d in walk(c, "/api/v1/deviations", resource="res-07")]
    assert ids == seeded.open_deviations
    assert one and set(one) == {"res-07"}


def test_snapshots_page_past_the_old_cap_without_their_data(seeded: Seeded) -> None:
    with seeded.client() as c:
        items = walk(c, "/api/v1/snapshots")
    assert len(items) == SNAPSHOTS > 10_000
    assert [s["id"] for s in items] == seeded.snapshots
    assert all(s.get("data") is None for s in items)


def test_proposals_page_by_status_and_reach_past_the_old_cap(seeded: Seeded) -> None:
    with seeded.client() as c:
        rejected = [p["id"] for p in walk(c, "/api/v1/proposals", status="rejected")]
        # The 99,998th newest proposal's key as a cursor: the old list held only the newest 100,000, so
        # a client could never see the last ones; now the page after it holds exactly the rest.
        at, pid = seeded.proposals[99_997]
        tail = c.get("/api/v1/proposals", params={"limit": 50, "cursor": encode_cursor((at.isoformat(), pid))})
        first = c.get("/api/v1/proposals", params={"limit": 3}).json()
    assert rejected == seeded.rejected and len(rejected) > 1_000
    assert tail.status_code == 200, tail.text
    assert [p["id"] for p in tail.json()["items"]] == [i for _, i in seeded.proposals[99_998:]]
    assert len(tail.json()["items"]) == PROPOSALS - 99_998
    assert tail.json()["next_cursor"] is None
    assert [p["id"] for p in first["items"]] == [i for _, i in seeded.proposals[:3]]


def test_the_lab_counts_every_open_proposal(seeded: Seeded) -> None:
    with seeded.client() as c:
        lab = c.get("/api/v1/lab").json()
    assert lab["open_proposals"] == 0  # the bulk rows are merged or rejected; counted in the database


@pytest.mark.parametrize("path", ["/api/v1/deviations/timeline", "/api/v1/deviations", "/api/v1/snapshots",
                                  "/api/v1/proposals", "/api/v1/instances", "/api/v1/tokens", "/api/v1/runs",
                                  "/api/v1/audit"])
@pytest.mark.parametrize("cursor", ["!!!", "WyJ4Il0", encode_cursor((1.5,)), "x" * 1024])
def test_a_bad_cursor_is_a_400_naming_the_parameter(seeded: Seeded, path: str, cursor: str) -> None:
    with seeded.client() as c:
        r = c.get(path, params={"cursor": cursor})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 400 and body["code"] == "invalid"
    assert body["errors"] == [{"loc": ["query", "cursor"], "msg": body["detail"], "type": "value_error"}]
    assert "cursor" in body["detail"]


def test_a_cursor_of_another_list_is_refused(seeded: Seeded) -> None:
    with seeded.client() as c:
        open_cursor = c.get("/api/v1/deviations", params={"limit": 1}).json()["next_cursor"]
        r = c.get("/api/v1/deviations/timeline", params={"cursor": open_cursor})
    assert r.status_code == 400
    assert r.json()["errors"][0]["loc"] == ["query", "cursor"]


def _older_links(client: httpx.Client, path: str, pattern: str) -> int:
    """Follow a page's "Older ..." links to the end; how many pages there were."""
    pages = 0
    while path:
        r = client.get(path)
        assert r.status_code == 200, r.text
        pages += 1
        found = re.search(pattern, r.text)
        path = found.group(1).replace("&amp;", "&") if found else ""
        assert pages < 1_000
    return pages


def test_pages_link_to_older_rows_past_the_old_caps(seeded: Seeded) -> None:
    with httpx.Client(base_url=seeded.url, timeout=120) as client:
        csrf = login_form(client)
        assert client.post("/login", data={"token": seeded.token, "csrf_token": csrf, "next": "/"}).status_code == 303
        # 50 snapshots a page (the page used to show the newest 100 only): from the 9,950th newest on, two
        # more pages hold the last 53, the oldest last.
        first = client.get("/snapshots").text
        assert re.search(r'href="/snapshots\?cursor=', first)
        stamp, sid = seeded.snapshot_keys[9_949]
        at = encode_cursor((stamp.isoformat(), sid))
        assert _older_links(client, f"/snapshots?cursor={at}", r'href="(/snapshots\?cursor=[^"]+)"') == 2
        last = client.get(f"/snapshots?cursor={at}").text
        assert f'/snapshots/{seeded.snapshots[9_950]}"' in last
        assert _older_links(client, "/proposals?status=rejected",
                            r'href="(/proposals\?status=rejected&amp;cursor=[^"]+)"') == 21
        assert _older_links(client, "/deviations", r'href="(/deviations\?cursor=[^"#]+)') == 51
        assert client.get("/snapshots", params={"cursor": "!!!"}).status_code == 400
