"""`homeport-mcp` over stdio answers `initialize` before it imports the MCP SDK (issue 21: spawn -> initialize).

Importing the SDK alone takes longer than the whole budget for the handshake (~0.6 s of CPU on the bench
machine), yet the SDK's answer to `initialize` depends only on the SDK's version, the protocol version the
client asks for and what the stdio server registers. `python -m mcp_server.catalog` records that answer in
catalog.json ("initialize") from a real handshake with the stdio server, and tests/mcp/test_catalog.py fails
when the record differs from what the installed SDK answers. homeport-mcp then:

1. claims stdin and stdout as the SDK's own stdio transport does (private duplicates for the wire; fd 0 reads
   the null device and fd 1 writes to stderr, so nothing stray reaches the wire),
2. imports the SDK and builds the stdio server in a thread while it waits for the client's first message,
3. answers a well-formed `initialize` (or `server/discover`, the first request of protocol versions without a
   handshake) for a recorded protocol version from the record, at once,
4. hands the connection to the SDK: the first message is replayed to it, so its connection state is exactly
   what its own handshake makes, and its answer to that message is dropped (the client already has it).

The SDK's transport is given streams that read and write the wire's (non-blocking) descriptors on the event
loop, rather than through a worker thread per line read and per write and flush: three thread hops fewer
per request, which is what a read costs most on a busy machine.

Anything else first (another method, a protocol version not recorded, malformed params, an SDK of another
version installed) is left to the SDK: slower, the same answer. This module imports only the standard library.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp_server.caller import Caller

CATALOG = Path(__file__).with_name("catalog.json")
# The keys of a `server/discover` request's _meta (protocol versions without a handshake) the answer depends on.
DISCOVER_META = ("io.modelcontextprotocol/protocolVersion", "io.modelcontextprotocol/clientInfo",
                 "io.modelcontextprotocol/clientCapabilities")


def recorded_initialize() -> dict[str, Any] | None:
    """catalog.json's record of the SDK's first answers, or None when the installed SDK is not the one recorded."""
    try:
        record = json.loads(CATALOG.read_text(encoding="utf-8")).get("initialize")
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not sdk_installed(str(record.get("sdk"))):
        return None
    return record


def sdk_installed(version: str) -> bool:
    """Whether the `mcp` package that `import mcp` finds is version (its dist-info beside it), without importing it."""
    for entry in sys.path:
        folder = Path(entry or ".")
        if (folder / "mcp" / "__init__.py").is_file():
            return (folder / f"mcp-{version}.dist-info").is_dir()
    return False


def early_answer(line: bytes, record: dict[str, Any]) -> tuple[int | str, bytes] | None:
    """(request id, response line) when line is a first message the record answers; None otherwise."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return None
    request_id, params = message.get("id"), message.get("params")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str) or not isinstance(params, dict):
        return None
    result: dict[str, Any] | None = None
    if message.get("method") == "initialize":
        version, client, capabilities = (params.get(key) for key in ("protocolVersion", "clientInfo", "capabilities"))
        handshake = record.get("initialize") or {}
        if version in handshake.get("versions", ()) and _client_ok(client, capabilities):
            result = {"protocolVersion": version, **handshake["result"]}
    elif message.get("method") == "server/discover" and isinstance(params.get("_meta"), dict):
        version, client, capabilities = (params["_meta"].get(key) for key in DISCOVER_META)
        if isinstance(version, str) and _client_ok(client, capabilities):
            result = (record.get("server/discover") or {}).get(version)
    if result is None:
        return None
    response = {"jsonrpc": "2.0", "id": request_id, "result": result}
    return request_id, (json.dumps(response, separators=(",", ":")) + "\n").encode("utf-8")


def _client_ok(client: Any, capabilities: Any) -> bool:
    return (isinstance(client, dict) and isinstance(client.get("name"), str) and isinstance(client.get("version"), str)
            and isinstance(capabilities, dict))


def claim_stdio() -> tuple[int, int]:
    """The wire's input and output on private descriptors; fd 0 then reads the null device, fd 1 goes to stderr."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)
    os.dup2(2, 1)
    return wire_in, wire_out


def first_line(fd: int) -> tuple[bytes, bytes]:
    """(the first line, what was read after it), blocking until a newline or the end of input."""
    data = b""
    while b"\n" not in data:
        chunk = os.read(fd, 65536)
        if not chunk:
            return data, b""
        data += chunk
    line, _, rest = data.partition(b"\n")
    return line + b"\n", rest


class WireInput:
    """The wire's input as text lines for the SDK's stdio transport, read on the event loop (no thread hop per
    line): the first line again, then the rest. The descriptor is non-blocking while it serves."""

    def __init__(self, fd: int, first: bytes, rest: bytes) -> None:
        self._fd = fd
        self._buffer = bytearray(first + rest)
        self._eof = False
        # Lines this returns True for are answered elsewhere (mcp_server/direct_reads.py) and never reach the SDK.
        self.divert: Callable[[str], bool] | None = None

    def __aiter__(self) -> WireInput:
        return self

    async def __anext__(self) -> str:
        import anyio

        while True:
            end = self._buffer.find(b"\n")
            if end >= 0 or (self._eof and self._buffer):
                cut = end + 1 if end >= 0 else len(self._buffer)
                line = bytes(self._buffer[:cut])
                del self._buffer[:cut]
                text = line.decode("utf-8", errors="replace")
                if self.divert is not None and self.divert(text):
                    continue
                return text
            if self._eof:
                raise StopAsyncIteration
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                await anyio.wait_readable(self._fd)
                continue
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True


class WireOutput:
    """The wire's output for the SDK's stdio transport, written on the event loop (waiting only while the pipe
    is full); the SDK's answer to the request answered early is dropped."""

    def __init__(self, fd: int, answered: int | str | None) -> None:
        self._fd = fd
        self._answered = answered
        self._lock: Any = None

    async def write(self, text: str | bytes) -> int:
        """Write one message line (each writer writes a message with its newline in one call; while the pipe is
        full, other writers wait, so lines never interleave). Bytes are UTF-8 already (mcp_server/direct_reads.py)."""
        import anyio

        if isinstance(text, str) and self._answered is not None and self._is_answer(text):
            self._answered = None
            return len(text)
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            view = memoryview(text if isinstance(text, bytes) else text.encode("utf-8"))
            while view:
                try:
                    view = view[os.write(self._fd, view):]
                except BlockingIOError:
                    await anyio.wait_writable(self._fd)
        return len(text)

    def _is_answer(self, text: str) -> bool:
        try:
            message = json.loads(text)
        except ValueError:
            return False
        if not isinstance(message, dict) or "method" in message or message.get("id") != self._answered:
            return False
        if "error" in message:  # the client was told yes: say so where a person can see it
            print(f"homeport-mcp: the SDK refused the initialize answered early: {message['error']}", file=sys.stderr)
        return True

    async def flush(self) -> None:
        """Nothing is buffered."""


def serve(lab: Path, *, toolsets: tuple[str, ...], local: Caller) -> None:
    """Serve over stdio until the client closes stdin; exit 1 with the reason when the lab could not be opened."""
    wire_in, wire_out = claim_stdio()
    built: dict[str, Any] = {}

    def build() -> None:
        try:
            from mcp_server.stdio import build_stdio_server

            built["server"] = build_stdio_server(lab, toolsets=toolsets, local=local)
        except BaseException as exc:  # re-raised in the main thread
            built["error"] = exc

    builder = threading.Thread(target=build, name="homeport-mcp-sdk-import", daemon=True)
    builder.start()
    first, rest = first_line(wire_in)
    record = recorded_initialize() if first else None
    early = early_answer(first, record) if record is not None else None
    if early is not None:
        os.write(wire_out, early[1])  # a few KB: the pipe takes it whole
    builder.join()
    if "error" in built:
        raise built["error"]
    from mcp_server.stdio import serve_connection

    server, loader = built["server"]
    blocking = os.get_blocking(wire_in), os.get_blocking(wire_out)
    os.set_blocking(wire_in, False)
    os.set_blocking(wire_out, False)
    try:
        serve_connection(server, loader, WireInput(wire_in, first, rest),
                         WireOutput(wire_out, early[0] if early is not None else None))
    finally:  # the descriptions may be shared with the parent (a terminal): leave them as found
        os.set_blocking(wire_in, blocking[0])
        os.set_blocking(wire_out, blocking[1])
