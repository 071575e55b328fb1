"""`homeport token create|list|revoke`: bearer tokens for the MCP HTTP transport."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reconciler.cli.common import (
    LabOption,
    Output,
    OutputOption,
    console,
    escape,
    open_lab,
    print_json,
    user_errors,
)
from reconciler.service import commands, queries
from reconciler.service.lab import local_user

token_app = typer.Typer(help="Bearer tokens for homeport-mcp over HTTP (scopes: read, propose, approve, admin).",
                        no_args_is_help=True)


@token_app.command("create")
@user_errors
def create(name: Annotated[str, typer.Argument(help="What holds the token, e.g. claude-desktop")],
           scopes: Annotated[str, typer.Option(help="Comma-separated: read, propose, approve, admin. "
                                                    "Agents get read,propose; approve merges proposals.")] = "read",
           owner: Annotated[str | None, typer.Option(help="Who the token acts for (default: you)")] = None,
           expires_days: Annotated[int | None, typer.Option(help="Expire after this many days")] = None,
           lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Create a token; its secret is printed once and stored only as a hash."""
    parsed = commands.parse_scopes(scopes)
    with open_lab(lab) as service:
        created = commands.create_token(service, name=name, owner=owner or local_user(), scopes=parsed,
                                        expires_in_days=expires_days)
    secret, info = created.secret, created.token
    if output is Output.json:
        print_json({"id": info.id, "name": info.name, "owner": info.owner, "scopes": list(info.scopes),
                    "token": secret, "expires_at": info.expires_at})
        return
    console.print(f"token {escape(info.name)} ({info.id}) for {escape(info.owner)}, scopes {', '.join(info.scopes)}")
    console.print("Store it now; it is not shown again:")
    print(secret)


@token_app.command("list")
@user_errors
def list_cmd(lab: LabOption = Path("."), output: OutputOption = Output.text) -> None:
    """Tokens of the lab (never their secrets)."""
    with open_lab(lab) as service:
        lab_name = service.lab_name_or_folder()
        tokens = queries.tokens(service)
    if output is Output.json:
        print_json([{"id": t.id, "name": t.name, "owner": t.owner, "scopes": list(t.scopes),
                     "created_at": t.created_at, "revoked_at": t.revoked_at, "last_used_at": t.last_used_at}
                    for t in tokens])
        return
    table = Table(title=f"tokens of lab {lab_name}")
    for col in ("id", "name", "owner", "scopes", "state", "last used"):
        table.add_column(col)
    for t in tokens:
        state = "revoked" if t.revoked_at else "active"
        table.add_row(t.id, escape(t.name), escape(t.owner), ",".join(t.scopes), state,
                      f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-")
    console.print(table)


@token_app.command("revoke")
@user_errors
def revoke(token: Annotated[str, typer.Argument(help="Token id or name")], lab: LabOption = Path(".")) -> None:
    """Revoke a token by id or name."""
    with open_lab(lab) as service:
        count = commands.revoke_token(service, token)
    console.print(f"revoked {count} token(s)")
