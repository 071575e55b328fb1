"""A local HTTP server that records what it receives and can fail the first N requests (a webhook target)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as the target saw it."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Sink:
    """The server's URL, what it received, and how many requests it still fails."""

    url: str
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500


@contextmanager
def http_sink() -> Iterator[Sink]:
    """Run a recording HTTP server on 127.0.0.1 for the with-block."""
    sink = Sink(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            sink.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = 200
            if sink.fail_next > 0:
                sink.fail_next -= 1
                status = sink.fail_status
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
