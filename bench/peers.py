"""Figures of one shared/peers-bench run: homeport beside the Proxmox MCP servers people use, same client, same run.

Usage: python bench/peers.py OUT.json
OUT.json is what `shared/peers-bench/run_all.py OUT.json` wrote (see that folder's README for the run: fakepve
with 200 guests on 127.0.0.2, the peers in their own venvs, a homeport lab of 20 applied resources). Prints
each server's warm p50 of its list call, spawn -> initialize, tools/list size and fakepve requests per call,
then FIGURE lines (bench/figures.py): homeport's `discover-proxmox-resources` warm p50 with the fastest
peer's as its target (issue 21), and the SDK floor beside it. Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import note, report

FLOOR = "floor (SDK trivial server)"
HOMEPORT = "homeport"
LIST_CALL = "discover-proxmox-resources"


def list_call(server: dict[str, Any]) -> dict[str, Any] | None:
    """The warm record of a server's first read (its list call)."""
    warm = server.get("warm") or []
    return warm[0] if warm else None


def main() -> None:
    """Read the run, print the table and the figures."""
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/peers.py OUT.json (written by shared/peers-bench/run_all.py)")
    run = json.loads(Path(sys.argv[1]).read_text())
    servers: dict[str, dict[str, Any]] = run.get("servers", {})
    loads = run.get("warm_load") or ["?"]
    print(f"peers run started {run.get('started')}, client mcp {run.get('client_sdk')}, "
          f"load during the warm rounds {loads[0]} .. {loads[-1]}")
    print(f"{'server':28} {'list call':36} {'warm p50 ms':>11} {'min':>7} {'max':>7} {'PVE req':>7} "
          f"{'answer B':>9} {'init s':>7} {'tools':>5} {'tools/list B':>12}")
    peers: dict[str, float] = {}
    for name, server in servers.items():
        if "error" in server:
            print(f"{name:28} could not start: {server['error'][:160]}")
            continue
        warm = list_call(server)
        if warm is None:
            continue
        wall = warm["wall"]
        print(f"{name:28} {warm['tool'][:36]:36} {wall['median'] * 1000:>11.1f} {wall['min'] * 1000:>7.1f} "
              f"{wall['max'] * 1000:>7.1f} {warm['http']['median']:>7} {warm.get('result_bytes') or 0:>9} "
              f"{server['init_s']:>7.2f} {server['n_tools']:>5} {server['tools_list_bytes']:>12}")
        if name not in (FLOOR, HOMEPORT) and not warm.get("errors"):
            peers[name] = wall["median"] * 1000
    home = servers.get(HOMEPORT, {})
    warm = list_call(home) if "error" not in home else None
    if warm is None or warm["tool"] != LIST_CALL:
        sys.exit(f"no warm figures for homeport's {LIST_CALL} in {sys.argv[1]}")
    fastest = min(peers.items(), key=lambda kv: kv[1]) if peers else None
    if fastest:
        print(f"fastest peer: {fastest[0]} {fastest[1]:.1f} ms")
    else:
        note("peers.py: no peer answered its list call; homeport is compared with the SDK floor only")
    report(f"{LIST_CALL} warm p50, peers run (target: fastest peer)", warm["wall"]["median"] * 1000, "ms",
           round(fastest[1], 2) if fastest else None)
    if FLOOR in servers and list_call(servers[FLOOR]):
        report("MCP SDK floor round trip p50, peers run", list_call(servers[FLOOR])["wall"]["median"] * 1000,  # type: ignore[index]
               "ms", None)
        report("SDK floor spawn -> initialize, peers run", servers[FLOOR]["init_s"], "s", None)
    report("homeport-mcp spawn -> initialize, peers run", home["init_s"], "s", 0.5)
    report("homeport tools/list, peers run", home["tools_list_bytes"] / 1024, "KB", 40)


if __name__ == "__main__":
    main()
