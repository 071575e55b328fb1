"""A Git smart-HTTP server for tests: `git http-backend` (CGI) behind HTTP Basic auth, on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HTTP_BACKEND = Path("/usr/lib/git-core/git-http-backend")


@dataclass
class GitHttp:
    """The server's base URL and what it saw."""

    url: str
    authorizations: list[str | None] = field(default_factory=list)


@contextmanager
def git_http(root: Path, user: str, token: str) -> Iterator[GitHttp]:
    """Serve the repositories under root over HTTP, requiring user:token (Basic)."""
    if not HTTP_BACKEND.exists():
        raise AssertionError(f"{HTTP_BACKEND} is missing: install git (scripts/install-test-deps.sh)")
    expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
    served = GitHttp(url="")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            auth = self.headers.get("Authorization")
            served.authorizations.append(auth)
            if auth != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {**os.environ, "GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
                   "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_USER": user,
                   "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(length)}
            out = subprocess.run([str(HTTP_BACKEND)], input=body, env=env, capture_output=True, check=False).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(": ")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
