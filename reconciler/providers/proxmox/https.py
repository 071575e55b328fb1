"""Keep-alive HTTPS connections to one PVE host, on the standard library alone.

The PVE API is plain JSON over HTTPS, so homeport speaks it with `http.client` instead of an SDK: a warm
`GET /cluster/resources` of 220 guests on fakepve cost 2.0-2.7 ms this way against 3.6-4.8 ms through
proxmoxer 2.3 and requests 2.32 (measured side by side on 2026-12-07 before proxmoxer was dropped; most of
the difference is requests' per-call work: environment proxy lookups, hooks, cookie merging, which a client
of one host does not need). bench/proxmox_mcp_read.py prints this client beside a bare http.client.

A small pool keeps idle connections, so calls from several threads (the MCP server's tools, the daemon)
each get a connection of their own. A pooled connection the server has closed (PVE's keep-alive timeout) is
noticed before it is used; a GET that still meets a closed connection is sent once more on a new one.
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
from dataclasses import dataclass

IDLE_KEPT = 4  # idle connections kept per host; more concurrent calls open more and close the extra


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, reason phrase (PVE puts its error message there) and body."""

    status: int
    reason: str
    body: bytes


def tls_context(*, ca_file: str | None, verify: bool) -> ssl.SSLContext:
    """The TLS context for PVE: its CA file, the system's CAs, or (verify_tls: false) no verification."""
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _dropped(conn: http.client.HTTPSConnection) -> bool:
    """True when an idle connection's socket is closed or has something to read (the server's EOF)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class HttpsPool:
    """Keep-alive HTTPS connections to host:port; thread-safe."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, *, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._context = context
        self._idle: list[http.client.HTTPSConnection] = []
        self._lock = threading.Lock()
        self.opened = 0  # connections opened, for tests and benchmarks

    def _take(self) -> tuple[http.client.HTTPSConnection, bool]:
        """(connection, reused): an idle one still open, else a new one."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                self.opened += 1
                return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                   context=self._context), False
            if not _dropped(conn):
                return conn, True
            conn.close()

    def _give_back(self, conn: http.client.HTTPSConnection) -> None:
        with self._lock:
            if len(self._idle) < IDLE_KEPT:
                self._idle.append(conn)
                return
        conn.close()

    def request(self, method: str, target: str, *, body: bytes | None, headers: dict[str, str]) -> Answer:
        """Send one request and read the whole answer. Raises OSError (ssl.SSLError, TimeoutError, connection
        errors) or http.client.HTTPException for transport failures."""
        while True:
            conn, reused = self._take()
            try:
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused and method == "GET":  # the server closed a kept connection as the request went out
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            if response.will_close:
                conn.close()
            else:
                self._give_back(conn)
            return Answer(response.status, response.reason, data)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
