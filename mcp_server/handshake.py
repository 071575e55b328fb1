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

Anything else first (another method, a protocol version not recorded, malformed params, an SDK of another
version installed) is left to the SDK: slower, the same answer. This module imports only the standard library.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO

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


def claim_stdio() -> tuple[BinaryIO, BinaryIO]:
    """The wire's input and output on private descriptors; fd 0 then reads the null device, fd 1 goes to stderr."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)
    os.dup2(2, 1)
    return os.fdopen(wire_in, "rb"), os.fdopen(wire_out, "wb")


class ReplayedInput:
    """The wire's input as text lines for the SDK, the lines homeport-mcp already read first."""

    def __init__(self, held: list[bytes], wire: BinaryIO) -> None:
        self._held = list(held)
        self._wire = wire

    def readline(self) -> str:
        """The next line ('' at the end of input)."""
        line = self._held.pop(0) if self._held else self._wire.readline()
        return line.decode("utf-8", errors="replace")

    def close(self) -> None:
        """The wire stays open until the process ends (a reader thread may still wait on it)."""


class AnsweredOnce:
    """The wire's output for the SDK: its answer to the request answered early is dropped, the rest written."""

    def __init__(self, wire: BinaryIO, answered: int | str | None) -> None:
        self._wire = wire
        self._answered = answered

    def write(self, text: str) -> int:
        """Write one message line (the SDK writes each message with its newline in one call)."""
        if self._answered is not None and self._is_answer(text):
            self._answered = None
            return len(text)
        self._wire.write(text.encode("utf-8"))
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

    def flush(self) -> None:
        """Flush the wire."""
        self._wire.flush()

    def close(self) -> None:
        """The wire stays open until the process ends."""


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
    first = wire_in.readline()
    record = recorded_initialize() if first else None
    early = early_answer(first, record) if record is not None else None
    if early is not None:
        wire_out.write(early[1])
        wire_out.flush()
    builder.join()
    if "error" in built:
        raise built["error"]
    from mcp_server.stdio import serve_connection

    server, loader = built["server"]
    serve_connection(server, loader, ReplayedInput([first] if first else [], wire_in),
                     AnsweredOnce(wire_out, early[0] if early is not None else None))
