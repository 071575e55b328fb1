"""Who is calling the web door: a bearer token's or a browser session's holder, with the MCP scopes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SCOPE_HELP = {
    "read": "read the lab, runs, deviations, proposals and the audit log",
    "propose": "open proposals (YAML edits, drift resolutions) and take snapshots",
    "approve": "approve or reject proposals and start a run (people only)",
    "admin": "everything, including tokens",
}


@dataclass(frozen=True)
class Principal:
    """A verified caller. The token's secret is never part of it."""

    owner: str
    token_name: str
    scopes: frozenset[str]
    token_id: str | None = None
    via: Literal["bearer", "session"] = "bearer"
    kind: Literal["token", "oidc"] = "token"  # oidc: owner is the identity provider's subject (docs/identity.md)

    @property
    def actor(self) -> str:
        """The audit log's `actor`, and a proposal's author or reviewer: the token's holder, named as MCP names
        them, so one token is one person whichever door it uses (nobody approves their own proposal by
        switching from MCP to the browser). An OIDC caller is its subject."""
        if self.kind == "oidc":
            return self.owner
        return f"{self.owner} via token {self.token_name}"

    def allows(self, scope: str) -> bool:
        """Whether this caller holds scope (admin holds every scope)."""
        return scope in self.scopes or "admin" in self.scopes


def refusal(principal: Principal, scope: str) -> str:
    """Why a request was refused for lack of a scope, and what to do."""
    held = ", ".join(sorted(principal.scopes)) or "none"
    if principal.kind == "oidc":
        return (f"this needs the '{scope}' scope ({SCOPE_HELP[scope]}); {principal.owner} has: {held}. Ask the lab "
                "owner to map one of your identity provider groups to it (identity.oidc.groups in homeport.yaml)")
    return (f"this needs the '{scope}' scope ({SCOPE_HELP[scope]}); the token '{principal.token_name}' has: {held}. "
            f"Ask the lab owner for one with it: `homeport token create NAME --scopes "
            f"{'read' if scope == 'read' else 'read,' + scope}`")
