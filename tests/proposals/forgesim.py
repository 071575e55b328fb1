"""A small HTTP server answering the GitHub REST (or Gitea API v1) calls homeport makes: open and merge
a pull request.

It records every request (method, path, headers, JSON body) so tests can check what homeport sent.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ForgeSim:
    """GitHub-shaped endpoints on 127.0.0.1: POST /api/v3/repos/{o}/{r}/pulls, PATCH .../pulls/{n},
    PUT .../pulls/{n}/merge."""

    def __init__(self, repo: str, token: str, *, fail_with: int | None = None, flavour: str = "github") -> None:
        self.flavour = flavour
        self.repo = repo
        self.token = token
        self.fail_with = fail_with
        self.requests: list[dict[str, Any]] = []
        self.pulls: dict[int, dict[str, Any]] = {}
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def _reply(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                sim.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                     "body": body})
                if sim.fail_with:
                    self._reply(sim.fail_with, {"message": "Bad credentials"})
                    return
                scheme = "Bearer" if sim.flavour == "github" else "token"
                if self.headers.get("Authorization") != f"{scheme} {sim.token}":
                    self._reply(401, {"message": "Requires authentication"})
                    return
                api = "/api/v3" if sim.flavour == "github" else "/api/v1"
                base = f"{api}/repos/{sim.repo}/pulls"
                merge_method = "PUT" if sim.flavour == "github" else "POST"
                if self.command == "POST" and self.path == base:
                    if not all(k in body for k in ("title", "head", "base", "body")):
                        self._reply(422, {"message": "Validation Failed"})
                        return
                    if len(body["body"]) > 65536:
                        self._reply(422, {"message": "body is too long (maximum is 65536 characters)"})
                        return
                    number = len(sim.pulls) + 1
                    sim.pulls[number] = {**body, "state": "open"}
                    host = "github.example" if sim.flavour == "github" else "gitea.example"
                    word = "pull" if sim.flavour == "github" else "pulls"
                    self._reply(201, {"number": number, "html_url": f"https://{host}/{sim.repo}/{word}/{number}",
                                      "state": "open"})
                    return
                if self.command == "PATCH" and self.path.startswith(base + "/") and self.path[len(base) + 1:].isdigit():
                    number = int(self.path[len(base) + 1:])
                    if number not in sim.pulls:
                        self._reply(404, {"message": "Not Found"})
                        return
                    sim.pulls[number].update({k: v for k, v in body.items() if k in ("title", "body", "state")})
                    self._reply(200, {"number": number, "state": sim.pulls[number]["state"]})
                    return
                if self.command == merge_method and self.path.startswith(base + "/") and self.path.endswith("/merge"):
                    number = int(self.path[len(base) + 1:].split("/")[0])
                    if number not in sim.pulls:
                        self._reply(404, {"message": "Not Found"})
                        return
                    sim.pulls[number]["state"] = "merged"
                    if sim.flavour == "gitea":  # Gitea answers an empty 200 and needs {"Do": "merge"}
                        if body.get("Do") != "merge":
                            self._reply(422, {"message": "Do is required"})
                            return
                        self._reply(200, {})
                        return
                    self._reply(200, {"sha": "f" * 40, "merged": True, "message": "Pull Request successfully merged"})
                    return
                self._reply(404, {"message": "Not Found"})

            do_POST = _handle
            do_PUT = _handle
            do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ForgeSim:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
