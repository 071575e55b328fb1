"""Step 3 of action.yml: keep ONE homeport comment on the pull request, updated on every push.

The comment is found by a hidden marker; the body is capped to GitHub's 65,536-character limit.
Standard library only. Environment (set by the runner): GITHUB_API_URL, GITHUB_REPOSITORY,
GITHUB_EVENT_PATH (the pull_request event), GITHUB_TOKEN (pull-requests: write).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

MARKER = "<!-- homeport-plan -->"
LIMIT = 65_536
NOTE = "\n\n_(cut to GitHub's comment size limit; the job summary has the whole plan)_\n"


def capped(body: str) -> str:
    """The body with the marker first, cut to the limit on a line boundary when too long."""
    text = body if body.startswith(MARKER) else f"{MARKER}\n{body}"
    if len(text) <= LIMIT:
        return text
    cut = text[: LIMIT - len(NOTE) - 16]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    if cut.count("```") % 2:
        cut += "\n```"
    if cut.count("<details>") > cut.count("</details>"):
        cut += "\n</details>"
    return cut + NOTE


def _call(method: str, url: str, token: str, payload: dict[str, Any] | None = None) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "homeport-action",
        **({"Content-Type": "application/json"} if data is not None else {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
        return json.loads(text) if text else None


def upsert(api: str, repo: str, number: int, token: str, body: str) -> tuple[str, int]:
    """Update the existing homeport comment or create one; ("updated"|"created", comment id)."""
    base = f"{api.rstrip('/')}/repos/{repo}/issues"
    page = 1
    while True:
        comments = _call("GET", f"{base}/{number}/comments?per_page=100&page={page}", token) or []
        for comment in comments:
            if str(comment.get("body", "")).startswith(MARKER):
                _call("PATCH", f"{base}/comments/{comment['id']}", token, {"body": body})
                return "updated", int(comment["id"])
        if len(comments) < 100:
            break
        page += 1
    created = _call("POST", f"{base}/{number}/comments", token, {"body": body})
    return "created", int(created["id"])


def main(argv: list[str]) -> int:
    """Post the body file given as the only argument."""
    if len(argv) != 2:
        print("usage: pr_comment.py BODY_FILE", file=sys.stderr)
        return 2
    env = os.environ
    missing = [k for k in ("GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_TOKEN") if not env.get(k)]
    if missing:
        print(f"::error::pr_comment: {', '.join(missing)} not set (run inside a pull_request workflow)")
        return 1
    with open(env["GITHUB_EVENT_PATH"], encoding="utf-8") as f:
        event = json.load(f)
    number = (event.get("pull_request") or {}).get("number")
    if not number:
        print("pr_comment: not a pull_request event; nothing to comment on")
        return 0
    with open(argv[1], encoding="utf-8") as f:
        body = capped(f.read())
    try:
        what, comment_id = upsert(env.get("GITHUB_API_URL", "https://api.github.com"), env["GITHUB_REPOSITORY"],
                                  int(number), env["GITHUB_TOKEN"], body)
    except urllib.error.HTTPError as exc:
        hint = " (the workflow needs `permissions: pull-requests: write`)" if exc.code in (401, 403) else ""
        print(f"::error::pr_comment: GitHub answered {exc.code} {exc.reason}{hint}")
        return 1
    except urllib.error.URLError as exc:
        print(f"::error::pr_comment: cannot reach GitHub: {exc.reason}")
        return 1
    print(f"pr_comment: {what} comment {comment_id} on #{number}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
