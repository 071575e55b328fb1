"""Fuzz targets (issue 24): each a hypothesis strategy and a check of the properties that must hold.

Shared by tests/fuzz/test_fuzz.py (a bounded run in `make test`) and bench/fuzz_report.py (`make fuzz`:
long runs, case counts, failures and the slowest input per target). Properties, per target:
no traceback (only the errors a door turns into a clear message), no run left `running`, no write
outside the lab, no Git object or ref written by a read-scope call, the audit chain verifies.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from sqlalchemy import func, select

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.tools import ALL_TOOLS
from mcp_server.toolspec import USER_ERRORS
from reconciler.daemon.http_app import build_app
from reconciler.daemon.service import Daemon
from reconciler.daemon.settings import DaemonSettings
from reconciler.daemon.webhook import sign
from reconciler.models.lab import Lab
from reconciler.models.pool import ResourcePool
from reconciler.models.resource import UniversalResource
from reconciler.models.template import DeploymentTemplate
from reconciler.models.yaml12 import load_documents
from reconciler.proposals.yamledit import edit_document, new_document, set_path
from reconciler.source.loader import parse_blob
from reconciler.source.schemas import schema_of
from reconciler.store.audit import verify_chain
from reconciler.store.tables import ProposalRow, ReconcileRunRow

WEBHOOK_SECRET = "fuzz-secret"
KINDS = {"Lab": Lab, "ResourcePool": ResourcePool, "DeploymentTemplate": DeploymentTemplate,
         "UniversalResource": UniversalResource}
FORGE_HEADERS = ["X-GitHub-Event", "X-Hub-Signature-256", "X-GitHub-Delivery", "X-Gitea-Event",
                 "X-Gitea-Signature", "X-Gitea-Delivery", "Content-Type"]


class PropertyBroken(AssertionError):
    """A fuzz property does not hold for an input."""


@dataclass
class Target:
    """One fuzz target: a strategy of inputs and the check run on each within an opened context."""

    name: str
    strategy: Callable[[Any], st.SearchStrategy[Any]]
    check: Callable[[Any, Any], None]
    context: Callable[[Path], Any]


# -- the lab a target runs against ---------------------------------------------------------------------


def git_state(lab: Path) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """Every object file and every ref of the lab's repository (to prove nothing was written)."""
    git = lab / ".git"
    objects = frozenset(os.path.join(d, f) for d, _, files in os.walk(git / "objects") for f in files)
    refs = frozenset((os.path.join(d, f), Path(d, f).read_text(errors="replace"))
                     for d, _, files in os.walk(git / "refs") for f in files)
    return objects, refs


def outside_snapshot(root: Path) -> frozenset[str]:
    """Files beside the lab (its parent folder, the lab itself excluded): a write there escaped the lab."""
    return frozenset(str(p) for p in root.parent.iterdir() if p != root)


@dataclass
class McpContext:
    """A served example lab and a caller holding read and propose."""

    app: HomeportApp
    lab: Path
    caller: Caller


def mcp_context(lab: Path) -> McpContext:
    return McpContext(HomeportApp(lab), lab, Caller(actor="fuzz-agent", scopes=frozenset({"read", "propose"}),
                                                    owner="fuzz", kind="agent"))


FUZZED_TOOLS = [spec for spec in ALL_TOOLS if spec.scope in ("read", "propose")]


def mcp_strategy(_: Any) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """(tool name, arguments) from each tool's advertised input schema, plus arbitrary JSON for each argument."""
    options = []
    for spec in FUZZED_TOOLS:
        schema = spec.input.model_json_schema()
        schema.pop("title", None)
        valid = from_schema(schema)
        loose = st.dictionaries(st.sampled_from(sorted(spec.input.model_fields) or ["x"]), json_values(), max_size=4)
        options.append(st.tuples(st.just(spec.name), st.one_of(valid, loose)))
    return st.one_of(options)


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, JSON text of one included (agents send objects as strings)."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                        st.text(max_size=40))
    values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                          max_leaves=20)
    return st.one_of(values, values.map(json.dumps), st.integers(1, 3000).map(lambda n: "[" * n + "]" * n))


def check_mcp(ctx: McpContext, case: tuple[str, dict[str, Any]]) -> None:
    name, arguments = case
    spec = next(s for s in FUZZED_TOOLS if s.name == name)
    before = git_state(ctx.lab) if spec.read_only else None
    outside = outside_snapshot(ctx.lab)
    with ctx.app.service.session.db.session() as s:
        proposals = s.execute(select(func.count()).select_from(ProposalRow)).scalar_one()
    try:
        spec.call(ctx.app, ctx.caller, arguments)
    except USER_ERRORS:
        pass  # a clear error the agent can act on
    except Exception as exc:
        raise PropertyBroken(f"{name} raised {type(exc).__name__}: {exc}") from exc
    if before is not None:
        if git_state(ctx.lab) != before:
            raise PropertyBroken(f"read-scope tool {name} wrote Git objects or refs")
        with ctx.app.service.session.db.session() as s:
            if s.execute(select(func.count()).select_from(ProposalRow)).scalar_one() != proposals:
                raise PropertyBroken(f"read-scope tool {name} recorded a proposal")
    if outside_snapshot(ctx.lab) != outside:
        raise PropertyBroken(f"{name} wrote beside the lab")
    with ctx.app.service.session.db.session() as s:
        if s.execute(select(func.count()).select_from(ReconcileRunRow)
                     .where(ReconcileRunRow.status == "running")).scalar_one():
            raise PropertyBroken(f"{name} left a run running")


# -- desired-state documents from the kinds' JSON Schemas ------------------------------------------------


def documents_strategy(_: Any) -> st.SearchStrategy[tuple[str, Any]]:
    """(kind, document) from `homeport schema`'s JSON Schemas, and the same with fields broken at random."""
    options = []
    for kind, model in KINDS.items():
        schema = schema_of(model)
        options.append(st.tuples(st.just(kind), from_schema(schema)))
        options.append(st.tuples(st.just(kind), st.dictionaries(
            st.sampled_from(["apiVersion", "kind", "metadata", "spec"]), json_values(), max_size=4)))
    return st.one_of(options)


def check_document(_: Any, case: tuple[str, Any]) -> None:
    kind, document = case
    texts = [json.dumps(document)]
    with suppress(RecursionError):  # PyYAML's own emitter cannot write it; the JSON form (also YAML) still is
        texts.append(yaml.safe_dump(document, allow_unicode=True))
    for text in texts:
        try:
            parsed = parse_blob(f"resources/{kind.lower()}.yaml", text.encode())
        except Exception as exc:
            raise PropertyBroken(f"parse_blob raised {type(exc).__name__}: {exc}") from exc
        for issue in parsed.issues:
            if not issue.file or not issue.message:
                raise PropertyBroken(f"an issue without file or message: {issue!r}")


# -- webhook bodies and headers ---------------------------------------------------------------------------


@contextmanager
def _daemon(lab: Path) -> Iterator[Any]:
    from starlette.testclient import TestClient

    daemon = Daemon(DaemonSettings(lab_dir=lab, database_url=f"sqlite:///{lab.parent / 'fuzz-daemon.db'}",
                                   port=0), env={"HOMEPORT_WEBHOOK_SECRET": WEBHOOK_SECRET})
    try:
        daemon.cycle("startup")
        yield daemon, TestClient(build_app(daemon.http_hooks()))
    finally:
        daemon.stop()


def webhook_context(lab: Path) -> Any:
    return _daemon(lab)


def webhook_strategy(_: Any) -> st.SearchStrategy[tuple[bytes, dict[str, str], bool]]:
    """(body, headers, sign it?) : JSON and arbitrary bodies, forge headers with arbitrary values."""
    bodies = st.one_of(st.binary(max_size=300), json_values().map(lambda v: json.dumps(v).encode()),
                       st.integers(1, 5000).map(lambda n: b'{"a":' + b"[" * n + b"]" * n + b"}"))
    header_values = st.text(alphabet=string.printable.replace("\r", "").replace("\n", ""), max_size=80)
    headers = st.dictionaries(st.sampled_from(FORGE_HEADERS), header_values, max_size=4)
    return st.tuples(bodies, headers, st.booleans())


def check_webhook(ctx: Any, case: tuple[bytes, dict[str, str], bool]) -> None:
    _daemon_obj, client = ctx
    body, headers, signed = case
    headers = dict(headers)
    if signed:
        headers["X-GitHub-Event"] = headers.get("X-GitHub-Event", "push") or "push"
        headers["X-Hub-Signature-256"] = "sha256=" + sign(WEBHOOK_SECRET.encode(), body)
    response = client.post("/webhook", content=body, headers=headers)
    if response.status_code >= 500 and response.status_code != 503:
        raise PropertyBroken(f"webhook answered {response.status_code}: {response.text[:200]}")
    if "Traceback" in response.text:
        raise PropertyBroken("a traceback in the webhook's answer")


# -- YAML scalars through the proposal round trip ---------------------------------------------------------


def scalar_strategy(_: Any) -> st.SearchStrategy[Any]:
    """Text of every shape (YAML 1.1's specials among it), numbers, booleans and null."""
    specials = st.sampled_from(["yes", "no", "on", "off", "y", "n", "~", "12:30:00", "1:20", "2024-01-01", "0755",
                                "0o17", "0x1F", "1_000", "1e3", ".inf", ".nan", "<<", "=", "null", "True", ""])
    text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
    numbers = st.one_of(st.integers(-(10**18), 10**18), st.floats(allow_nan=False, allow_infinity=False))
    return st.one_of(specials, text, numbers, st.booleans(), st.none())


def check_scalar(_: Any, value: Any) -> None:
    document = {"apiVersion": "homelab.ai/v1", "kind": "UniversalResource", "metadata": {"name": "r"},
                "spec": {"pool": "/p", "requirements": {"cpu": 1, "memory_gb": 1}, "dimensions": {"v": value}}}
    written = new_document(document)
    read = load_documents(written.decode())[0]["spec"]["dimensions"]["v"]
    # set_path(None) removes a key by design, so null is checked on the new file only
    new = value if value is not None else "null"
    edited = edit_document(written, "UniversalResource", "r", lambda d: set_path(d, ["spec", "dimensions", "w"], new))
    reread = load_documents(edited.decode())[0]["spec"]["dimensions"]
    if reread["w"] != new or type(reread["w"]) is not type(new):
        raise PropertyBroken(f"{new!r} written by an edit came back as {reread['w']!r}")
    for got in (read, reread["v"]):
        if got != value or type(got) is not type(value):
            raise PropertyBroken(f"{value!r} ({type(value).__name__}) came back as {got!r} ({type(got).__name__})")
    parsed = parse_blob("resources/r.yaml", edited)
    if any("dimensions" in (i.field or "") for i in parsed.issues):
        raise PropertyBroken(f"the loader refused {value!r}: {parsed.issues}")


@contextmanager
def _nothing(_: Path) -> Iterator[None]:
    yield None


@contextmanager
def _mcp(lab: Path) -> Iterator[McpContext]:
    ctx = mcp_context(lab)
    try:
        yield ctx
        if not verify_chain(ctx.app.service.session.db).ok:
            raise PropertyBroken("the audit chain no longer verifies")
    finally:
        ctx.app.close()


TARGETS: dict[str, Target] = {
    "mcp-tool-arguments": Target("mcp-tool-arguments", mcp_strategy, check_mcp, _mcp),
    "desired-state-documents": Target("desired-state-documents", documents_strategy, check_document, _nothing),
    "webhook-requests": Target("webhook-requests", webhook_strategy, check_webhook, webhook_context),
    "yaml-scalar-round-trip": Target("yaml-scalar-round-trip", scalar_strategy, check_scalar, _nothing),
}
