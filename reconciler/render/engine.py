"""Rendering a chart for one resource in a sandbox with strict undefined values."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import jinja2
import yaml
from jinja2.exceptions import SecurityError

from reconciler.models.effective import EffectiveResource
from reconciler.models.limits import LimitExceeded, current_limits
from reconciler.render.chart import Chart
from reconciler.render.errors import RenderError
from reconciler.render.sandbox import BoundedSandbox, RenderBudget, RenderTimeout, render_stream
from reconciler.render.values import chart_values, check_values


def _to_yaml(value: Any, indent: int = 0) -> str:
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=1000).rstrip("\n")
    if indent:
        pad = " " * indent
        text = "\n".join(pad + line if line else line for line in text.splitlines())
    return text


def _hcl(value: Any) -> str:
    """A value as an HCL literal (strings quoted and escaped; lists and maps recursively)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_hcl(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_hcl(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as HCL")


def _identifier(value: str) -> str:
    """A string usable as a Terraform/CloudFormation identifier."""
    return re.sub(r"[^A-Za-z0-9_]", "_", value)


def _camel(value: str) -> str:
    """'ollama-server' -> 'OllamaServer' (CloudFormation logical ids)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]", value) if part)


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _fail(message: str) -> str:
    raise jinja2.TemplateRuntimeError(message)


def make_environment(templates: dict[str, str]) -> BoundedSandbox:
    """A sandboxed environment over one chart's templates only (no filesystem access), with render limits."""
    env = BoundedSandbox(
        loader=jinja2.DictLoader(templates),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(
        to_yaml=_to_yaml,
        to_json=lambda v, indent=None: json.dumps(v, indent=indent),
        hcl=_hcl,
        identifier=_identifier,
        camel=_camel,
        b64encode=_b64,
    )
    env.globals.update(fail=_fail)
    env.guard_filters()
    return env


@dataclass
class RenderOutput:
    """Rendered files of one chart for one resource, with the values used."""

    chart: str
    files: dict[str, str]
    values: dict[str, Any]
    key: str
    checked_only: bool = False


_ENVIRONMENTS: dict[str, BoundedSandbox] = {}
_CACHE: dict[str, RenderOutput] = {}
# (chart digest, resource JSON) -> full output. The values document is a pure function of both, so an
# unchanged resource is found without building and hashing its document (re-render after one change).
_BY_RESOURCE: dict[tuple[str, str], RenderOutput] = {}
_MAX_BY_RESOURCE = 50_000


def render_key(chart: Chart, document: dict[str, Any]) -> str:
    """Cache key: the chart's digest and the values' content."""
    payload = json.dumps(document, sort_keys=True, default=str).encode()
    return hashlib.sha256(chart.digest.encode() + b"\0" + payload).hexdigest()


def render_chart(chart: Chart, resource: EffectiveResource, *, known_good: set[str] | None = None) -> RenderOutput:
    """Render every non-partial template (names not starting with '_'); empty outputs are dropped.

    With `known_good` (keys that rendered and validated before, e.g. in an earlier run), a matching key returns
    an output without files: the caller only needed to know the resource renders.
    """
    fast_key = (chart.digest, resource.model_dump_json())
    hit = _BY_RESOURCE.get(fast_key)
    if hit is not None:
        return hit
    document = chart_values(chart, resource)
    key = render_key(chart, document)
    if known_good is not None and key in known_good and key not in _CACHE:
        return RenderOutput(chart=chart.name, files={}, values=document, key=key, checked_only=True)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    check_values(chart, document)
    env = _ENVIRONMENTS.get(chart.digest)
    if env is None:
        env = make_environment(chart.templates)
        _ENVIRONMENTS[chart.digest] = env
    files = _render_files(env, chart, resource.name, document)
    out = RenderOutput(chart=chart.name, files=files, values=document, key=key)
    if len(_CACHE) >= _MAX_BY_RESOURCE:
        _CACHE.clear()  # bounded, so a daemon rendering new revisions for months stays flat
    _CACHE[key] = out
    if len(_BY_RESOURCE) >= _MAX_BY_RESOURCE:
        _BY_RESOURCE.clear()
    _BY_RESOURCE[fast_key] = out
    return out


def _render_files(env: BoundedSandbox, chart: Chart, resource: str, document: dict[str, Any]) -> dict[str, str]:
    """Every non-partial template of a chart, within one time and size budget; every failure a RenderError."""
    files: dict[str, str] = {}
    used = 0
    name = ""
    budget = RenderBudget(current_limits())
    try:
        with budget:
            for name in sorted(chart.templates):
                if not name.rsplit("/", 1)[-1].startswith("_"):
                    text = _render_template(env, chart, resource, name, document, budget, used)
                    used += len(text)
                    if text.strip():
                        files[name.removesuffix(".j2")] = text
    except RenderTimeout:
        raise RenderError(resource, chart.name, str(budget.timeout()), file=name or None) from None
    size = sum(len(text.encode("utf-8")) for text in files.values())
    limit = budget.limits.render_output_bytes
    if size > limit:
        raise RenderError(resource, chart.name, str(LimitExceeded("render_output_bytes", limit, f"{size:,} bytes")))
    return files


def _render_template(
    env: BoundedSandbox, chart: Chart, resource: str, name: str, document: dict[str, Any], budget: RenderBudget,
    used: int,
) -> str:
    """One template; whatever goes wrong in template code comes back as a RenderError naming chart and file."""
    try:
        return render_stream(env.get_template(name), document, budget, used)
    except Exception as exc:  # any error raised by template code is the chart's, and named as such
        raise RenderError(resource, chart.name, _template_error(exc), file=name, line=_template_line(exc)) from None


def _template_error(exc: Exception) -> str:
    if isinstance(exc, SecurityError):
        return f"template refused by the sandbox: {exc}"
    if isinstance(exc, jinja2.UndefinedError):
        return f"undefined value: {exc.message}"
    if isinstance(exc, jinja2.TemplateError | LimitExceeded):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "the template recurses without end (a macro calling itself?)"
    if isinstance(exc, MemoryError):
        return "the template ran out of memory"
    return f"{type(exc).__name__}: {exc}"


def _template_line(exc: BaseException) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("<template>") or "template" in tb.tb_frame.f_code.co_filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
