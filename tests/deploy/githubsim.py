"""GitHub's issue-comment REST routes on 127.0.0.1, as the action's pr_comment.py calls them: list
(paged), create and update comments on a pull request. Records every request."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class GitHubComments:
    """Comments of one repository's pull requests, behind a bearer token."""

    def __init__(self, repo: str, token: str) -> None:
        self.repo, self.token = repo, token
        self.comments: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def _reply(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                sim.requests.append((self.command, self.path))
                if self.headers.get("Authorization") != f"Bearer {sim.token}":
                    self._reply(401, {"message": "Bad credentials"})
                    return
                url = urlparse(self.path)
                base = f"/repos/{sim.repo}/issues"
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.command in ("POST", "PATCH") and len(body.get("body", "")) > 65_536:
                    self._reply(422, {"message": "body is too long (maximum is 65536 characters)"})
                    return
                parts = url.path[len(base) + 1:].split("/") if url.path.startswith(base + "/") else []
                if len(parts) == 2 and parts[1] == "comments" and parts[0].isdigit():
                    number = int(parts[0])
                    if self.command == "GET":
                        query = parse_qs(url.query)
                        per_page, page = int(query.get("per_page", ["30"])[0]), int(query.get("page", ["1"])[0])
                        mine = [c for c in sim.comments.values() if c["issue"] == number]
                        self._reply(200, mine[(page - 1) * per_page: page * per_page])
                        return
                    if self.command == "POST":
                        cid = 1000 + len(sim.comments)
                        sim.comments[cid] = {"id": cid, "issue": number, "body": body["body"]}
                        self._reply(201, sim.comments[cid])
                        return
                if len(parts) == 2 and parts[0] == "comments" and parts[1].isdigit() and self.command == "PATCH":
                    cid = int(parts[1])
                    if cid not in sim.comments:
                        self._reply(404, {"message": "Not Found"})
                        return
                    sim.comments[cid]["body"] = body["body"]
                    self._reply(200, sim.comments[cid])
                    return
                self._reply(404, {"message": "Not Found"})

            do_GET = do_POST = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> GitHubComments:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
