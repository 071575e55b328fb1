"""Who calls a tool and which scopes they hold (no engine imports: the stdio start-up path uses it)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

SCOPES: tuple[str, ...] = ("read", "propose", "approve", "admin")
SCOPE_HELP = {
    "read": "discovery, status, advice, SOPs, proposals list/get",
    "propose": "tools that open a proposal branch (nothing changes until a person merges it)",
    "approve": "merge a proposal into main (people only; agents' tokens never get it)",
    "admin": "everything",
}

# The calling client's name where no SDK session carries it (a read answered by mcp_server/direct_reads.py).
direct_client: ContextVar[str | None] = ContextVar("homeport_direct_client", default=None)


@dataclass(frozen=True)
class Caller:
    """Who is calling: token (or local user on stdio), its owner, scopes and client name."""

    actor: str
    scopes: frozenset[str]
    token_id: str | None = None
    token_name: str | None = None
    owner: str | None = None
    client: str | None = None
    kind: str = "agent"

    def allows(self, scope: str) -> bool:
        """Whether this caller holds scope (admin holds every scope)."""
        return scope in self.scopes or "admin" in self.scopes


def refusal(caller: Caller, scope: str, tool: str) -> str:
    """The message an agent gets when its token lacks a scope."""
    held = ", ".join(sorted(caller.scopes)) or "none"
    return (f"{tool} needs the '{scope}' scope ({SCOPE_HELP[scope]}); this caller has: {held}. "
            + ("Merging is a person's decision: ask them to run `homeport proposals approve <id>`."
               if scope == "approve" else
               "Ask the lab owner for a token with it: `homeport token create NAME --scopes "
               f"{'read' if scope == 'read' else 'read,' + scope}`."))


def parse_local_scopes(text: str) -> frozenset[str]:
    """--scopes of homeport-mcp ('read,propose'); ValueError names unknown scopes (as `homeport token create`)."""
    scopes = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"unknown scope(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(SCOPES)} "
                         "(agents get read,propose)")
    return frozenset(scopes)
