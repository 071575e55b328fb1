"""The web UI in a real browser: Debian's chromium driven by Playwright, headless.

A person logs in, opens the lab tree, reviews and approves an agent's proposal, watches the run apply it,
drifts a machine with `homeport sim drift`, sees the deviation appear and resolves it by proposal. Every page
is screenshotted (light and dark) into test-artifacts/web/screens/, checked with axe-core (no serious or
critical violation), weighed (under 200 KB with its assets), and any console error or failed request fails
the test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.web.conftest import ARTIFACTS, Server

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".tools" / "web" / "node_modules" / "axe-core" / "axe.min.js"
STATIC = ROOT / "reconciler" / "web" / "static"
SCREENS = ARTIFACTS / "screens"
PAGE_BUDGET = 200 * 1024


@dataclass
class Watch:
    """What went wrong in the browser: console errors, page errors, failed requests, HTTP errors."""

    problems: list[str] = field(default_factory=list)
    handlers: dict[int, list[tuple[str, Any]]] = field(default_factory=dict)

    def attach(self, page: Page) -> None:
        """Record a page's problems."""
        handlers: list[tuple[str, Any]] = [
            ("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None),
            ("pageerror", lambda e: self.problems.append(f"page error: {e}")),
            ("requestfailed", self._failed),
            ("response", lambda r: self.problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)]
        for event, handler in handlers:
            page.on(event, handler)
        self.handlers[id(page)] = handlers

    def detach(self, page: Page) -> None:
        """Stop recording a page about to be closed (closing aborts whatever it still loads)."""
        for event, handler in self.handlers.pop(id(page), []):
            page.remove_listener(event, handler)

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        # Leaving a page closes its live-update stream; the browser reports that as an aborted request. So is a
        # page load cut short by the next navigation (a live refresh the test's own goto overtakes): a server
        # error there still shows as its HTTP status.
        if "ERR_ABORTED" in failure and ("/events" in request.url or request.is_navigation_request()):
            return
        self.problems.append(f"request failed: {request.url} {failure}")

    def check(self) -> None:
        """Fail on anything recorded."""
        problems, self.problems = self.problems, []
        assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: run `make test-deps` (scripts/install-test-deps.sh)"
    assert AXE.is_file(), "axe-core is missing: run `make test-deps` (npm axe-core in .tools/web)"
    b = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"], headless=True)
    yield b
    b.close()


def new_context(browser: Browser, server: Server, *, dark: bool = False, js: bool = True) -> BrowserContext:
    """A browser context with axe-core loaded into every page (through CDP, so the pages' CSP still holds)."""
    ctx = browser.new_context(base_url=server.url, color_scheme="dark" if dark else "light",
                              java_script_enabled=js, viewport={"width": 1280, "height": 900})
    if js:
        ctx.add_init_script(path=str(AXE))
    return ctx


def login(page: Page, token: str) -> None:
    """Log in through the form, as a person would (typing the token, pressing Enter)."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("Token").fill(token)
    page.get_by_label("Token").press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))


def axe(page: Page, name: str) -> None:
    """No serious or critical axe-core violation on the page."""
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    (ARTIFACTS / "axe").mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe" / f"{name}.json").write_text(json.dumps(result["violations"], indent=1))
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in bad)


def shot(page: Page, name: str) -> None:
    """A full-page screenshot as a test artifact."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


ASSETS = sum(len((STATIC / p).read_bytes()) for p in ("app.css", "app.js", "vendor/htmx.min.js"))


def visit(page: Page, watch: Watch, path: str, name: str) -> None:
    """Open a page: check it loads, weighs under the budget, passes axe, and leave a screenshot."""
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    size = len(response.body()) + ASSETS
    assert size < PAGE_BUDGET, f"{path} weighs {size} bytes with its assets"
    page.wait_for_load_state("load")
    shot(page, name)
    axe(page, name)
    watch.check()


def api(server: Server, token: str) -> httpx.Client:
    """The REST API as an agent or script uses it."""
    return server.client(token)


def open_agent_proposal(server: Server) -> str:
    """An agent (read, propose token) proposes more memory for web-frontend, with its reason and evidence."""
    with api(server, server.tokens.agent) as agent:
        source = agent.get("/api/v1/resources/web-frontend/source").json()
        edited = source["text"].replace("memory_gb: 4", "memory_gb: 6", 1)
        r = agent.post("/api/v1/proposals", json={
            "title": "Give web-frontend 6 GB", "reason": "The frontend was OOM-killed 3 times this week.",
            "evidence": {"oom_kills_7d": 3, "peak_memory_gb": 3.9}, "files": {source["path"]: edited}})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def sim_drift(server: Server, resource: str, *assignments: str) -> None:
    """`homeport sim drift`: change the simulated machine behind homeport's back."""
    homeport = Path(sys.executable).with_name("homeport")
    result = subprocess.run([str(homeport), "sim", "drift", resource, *assignments, "--lab", str(server.lab)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_review_approve_watch_drift_and_resolve(server: Server, browser: Browser) -> None:
    watch = Watch()
    ctx = new_context(browser, server)
    page = ctx.new_page()
    watch.attach(page)

    visit(page, watch, "/login", "01-login")
    login(page, server.tokens.admin)

    # The lab tree: pools ▸ resources with status per resource and provider.
    visit(page, watch, "/", "02-lab-tree")
    tree = page.locator("main")
    expect(tree.get_by_role("link", name="web-frontend")).to_be_visible()
    expect(tree.get_by_role("row", name=re.compile(r"web-frontend.*in sync"))).to_be_visible()

    # An agent's proposal: reviewed with its reason, evidence, plan and rendered diff, then approved.
    proposal_id = open_agent_proposal(server)
    visit(page, watch, "/proposals", "03-proposals")
    page.get_by_role("link", name="Give web-frontend 6 GB").click()
    expect(page.get_by_text("The frontend was OOM-killed 3 times this week.")).to_be_visible()
    expect(page.get_by_text("oom_kills_7d")).to_be_visible()
    expect(page.locator("ol.plan li.op-update")).to_contain_text("web-frontend")
    expect(page.locator("pre.diff")).to_contain_text("web-frontend")
    shot(page, "04-proposal-review")
    axe(page, "04-proposal-review")
    page.get_by_role("button", name="Approve and merge").click()
    expect(page.get_by_text("merged", exact=True)).to_be_visible()
    shot(page, "05-proposal-merged")
    watch.check()

    # Watch the run apply it: the runs page shows it (live updates announce runs that finish later).
    page.goto("/runs")
    expect(page.locator("tbody tr").first).to_contain_text("web", timeout=60_000)
    expect(page.locator("tbody tr").first).to_contain_text("1 applied", timeout=60_000)
    page.locator("tbody tr").first.get_by_role("link").click()
    expect(page.locator("svg.chart")).to_be_visible()
    shot(page, "06-run")
    axe(page, "06-run")
    with api(server, server.tokens.read) as c:
        merged = c.get(f"/api/v1/proposals/{proposal_id}").json()
    assert merged["status"] == "merged" and merged["reviewed_by"] == "tester via token admin"

    # Live update: with the runs page open, a run started elsewhere appears without a reload.
    visit(page, watch, "/runs", "07-runs")
    rows_before = page.locator("tbody tr").count()
    sim_drift(server, "ci-runner", "cpu=7")  # ci-runner has no self_heal: its drift waits for a person
    with api(server, server.tokens.reviewer) as reviewer:
        started = reviewer.post("/api/v1/runs")
        assert started.status_code == 202 and started.json()["status"] == "started", started.text
    expect(page.locator("#live")).to_contain_text("Run", timeout=60_000)
    expect(page.locator("tbody tr")).to_have_count(rows_before + 1, timeout=30_000)
    shot(page, "08-runs-live-update")
    watch.check()

    # The drift shows up, and is resolved by a proposal that restores the declared value.
    visit(page, watch, "/deviations", "09-drift")
    card = page.locator("article.card", has_text="ci-runner")
    expect(card).to_contain_text("cpu")
    card.get_by_role("button", name="Revert to Git (proposal)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revert drift of ci-runner")
    shot(page, "10-revert-proposal")
    axe(page, "10-revert-proposal")
    # Nobody approves their own proposal: a second person (read, approve) reviews it in their own browser.
    other = new_context(browser, server)
    reviewer = other.new_page()
    watch.attach(reviewer)
    login(reviewer, server.tokens.reviewer)
    reviewer.goto(page.url.removeprefix(server.url))
    reviewer.get_by_role("button", name="Approve and merge").click()
    expect(reviewer.get_by_text("merged", exact=True)).to_be_visible()
    watch.detach(reviewer)  # closing the context aborts what the page may still load (a live refresh)
    other.close()
    page.goto("/deviations")
    expect(page.get_by_text("Nothing has drifted.")).to_be_visible(timeout=60_000)
    expect(page.locator("ol.timeline")).to_contain_text("resolved")
    shot(page, "11-drift-resolved")
    axe(page, "11-drift-resolved")
    watch.check()
    with api(server, server.tokens.read) as c:
        assert c.get("/api/v1/instances/ci-runner").json()["matches"] is True
    ctx.close()


PAGES = [("/", "lab"), ("/resources?pool=/infrastructure/on-premise/sim/compute", "resources-pool"),
         ("/resources/web-frontend", "resource"), ("/resources/ollama-server", "resource-gpu"),
         ("/proposals?status=all", "proposals-all"), ("/proposals/new?resource=web-frontend", "proposal-new"),
         ("/runs", "runs"), ("/deviations", "deviations"), ("/capacity", "capacity"), ("/plan", "plan"),
         ("/templates", "templates"), ("/snapshots", "snapshots"), ("/drill", "drill"), ("/audit", "audit"),
         ("/audit?verify=true", "audit-verified"), ("/tokens", "tokens")]


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_every_page_accessible_small_and_clean(server: Server, browser: Browser, dark: bool) -> None:
    watch = Watch()
    ctx = new_context(browser, server, dark=dark)
    page = ctx.new_page()
    watch.attach(page)
    login(page, server.tokens.admin)
    mode = "dark" if dark else "light"
    for path, name in PAGES:
        visit(page, watch, path, f"page-{name}-{mode}")
    # A snapshot taken from the UI, then its page; a run's page; a proposal's page.
    page.goto("/snapshots")
    page.get_by_label("Notes").fill("before the upgrade")
    page.get_by_role("button", name="Take a snapshot").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Snapshot")
    visit(page, watch, page.url.removeprefix(server.url), f"page-snapshot-{mode}")
    with api(server, server.tokens.read) as c:
        run_id = c.get("/api/v1/runs", params={"limit": 1}).json()["items"][0]["id"]
        proposals = c.get("/api/v1/proposals", params={"limit": 1}).json()["items"]
    visit(page, watch, f"/runs/{run_id}", f"page-run-{mode}")
    # A drill run from its page: the stored report's page, then the list of past reports.
    page.goto("/drill")
    page.get_by_role("button", name="Run the drill").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("resources rebuildable from Git")
    visit(page, watch, page.url.removeprefix(server.url), f"page-drill-report-{mode}")
    visit(page, watch, "/drill", f"page-drill-past-{mode}")
    if proposals:
        visit(page, watch, f"/proposals/{proposals[0]['id']}", f"page-proposal-{mode}")
    ctx.close()


def test_keyboard_reaches_content_and_actions(server: Server, browser: Browser) -> None:
    watch = Watch()
    ctx = new_context(browser, server)
    page = ctx.new_page()
    watch.attach(page)
    login(page, server.tokens.admin)
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    # Tab through the page: every navigation link and button is reachable, focus is always visible.
    seen = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        seen.add(page.evaluate("document.activeElement && (document.activeElement.textContent || '').trim()"))
    assert {"Run now", "web-frontend"} <= seen, seen
    watch.check()
    ctx.close()


def test_pages_read_without_javascript(server: Server, browser: Browser) -> None:
    ctx = new_context(browser, server, js=False)
    page = ctx.new_page()
    login(page, server.tokens.read)
    expect(page.get_by_role("link", name="web-frontend")).to_be_visible()
    for path in ("/runs", "/deviations", "/capacity", "/audit", "/proposals?status=all"):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    # A read token sees no approve button, and the tokens page is refused.
    response = page.goto("/tokens")
    assert response is not None and response.status == 403
    expect(page.get_by_text("'admin' scope")).to_be_visible()
    shot(page, "page-forbidden-nojs")
    ctx.close()
