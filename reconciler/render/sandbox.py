"""A Jinja2 sandbox with limits: render time and output size per chart, no runaway operators or recursion.

Jinja's own sandbox stops attribute tricks but not a template that loops for hours or builds a
10 GB string. Here: `*`, `**`, `+` and `~` are checked before they build anything big; calls,
filters and `range` check the deadline; and a watchdog thread interrupts a render that is still
running past `render_seconds` (an exception raised in the rendering thread, so plain loops stop too).
"""

from __future__ import annotations

import ctypes
import operator
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment

from reconciler.models.limits import InputLimits, LimitExceeded


class RenderBudgetExceeded(LimitExceeded):
    """A render past render_seconds or render_output_bytes."""


class RenderTimeout(BaseException):
    """Raised inside the rendering thread by the watchdog (BaseException, so template code cannot catch it)."""


class RenderBudget:
    """The deadline and output bound of one chart render; `with budget:` arms the watchdog."""

    def __init__(self, limits: InputLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.render_seconds
        self.thread_id = threading.get_ident()
        self._lock = threading.Lock()
        self._done = False
        self.interrupted = False

    def check_time(self) -> None:
        """Raise when the deadline has passed."""
        if time.monotonic() > self.deadline:
            raise self.timeout()

    def timeout(self) -> RenderBudgetExceeded:
        """The error for a render past its deadline."""
        return RenderBudgetExceeded(
            "render_seconds", self.limits.render_seconds, f"rendering took longer than {self.limits.render_seconds:g} s"
        )

    def check_size(self, size: int, what: str = "the output") -> None:
        """Raise when a value or the output would be larger than render_output_bytes."""
        if size > self.limits.render_output_bytes:
            raise RenderBudgetExceeded(
                "render_output_bytes", self.limits.render_output_bytes, f"{what} would be {size:,} characters"
            )

    def interrupt(self) -> None:
        """Called by the watchdog: raise RenderTimeout in the rendering thread unless it has finished."""
        with self._lock:
            if self._done or self.interrupted:
                return
            self.interrupted = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread_id), ctypes.py_object(RenderTimeout))

    def __enter__(self) -> RenderBudget:
        _WATCHDOG.watch(self)
        self._token = _CURRENT.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _CURRENT.reset(self._token)
        _WATCHDOG.forget(self)
        with self._lock:
            self._done = True
            if self.interrupted:  # clear a pending interruption that has not fired yet
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread_id), None)
        if self.interrupted and exc_type is None:
            raise self.timeout()


_CURRENT: ContextVar[RenderBudget | None] = ContextVar("homeport_render_budget", default=None)


class _Watchdog:
    """One thread for every render in the process: it interrupts those past their deadline."""

    def __init__(self) -> None:
        self._budgets: set[RenderBudget] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, budget: RenderBudget) -> None:
        with self._lock:
            self._budgets.add(budget)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="homeport-render-watchdog", daemon=True)
                self._thread.start()
        self._wake.set()

    def forget(self, budget: RenderBudget) -> None:
        with self._lock:
            self._budgets.discard(budget)

    def _run(self) -> None:
        while True:
            with self._lock:
                budgets = list(self._budgets)
            if not budgets:
                self._wake.clear()
                self._wake.wait(60)
                continue
            now = time.monotonic()
            for budget in budgets:
                if now > budget.deadline:
                    budget.interrupt()
            time.sleep(min(0.05, max(0.001, min(b.deadline for b in budgets) - now)))


_WATCHDOG = _Watchdog()


def _budget() -> RenderBudget | None:
    return _CURRENT.get()


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _check_repeat(left: Any, right: Any) -> None:
    budget = _budget()
    if budget is None:
        return
    budget.check_time()
    for seq, count in ((left, right), (right, left)):
        size = _sized(seq)
        if size is not None and isinstance(count, int) and not isinstance(count, bool):
            budget.check_size(size * count, "a repeated value")


def _check_power(left: Any, right: Any) -> None:
    budget = _budget()
    if budget is None:
        return
    budget.check_time()
    if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
        bits = right * max(abs(left).bit_length(), 1)
        budget.check_size(bits // 8, "a power")


def _check_join(left: Any, right: Any) -> None:
    budget = _budget()
    if budget is None:
        return
    left_size, right_size = _sized(left), _sized(right)
    if left_size is not None and right_size is not None:
        budget.check_size(left_size + right_size, "a joined value")


# Widths and precisions in printf-style (`%10s`) and str.format (`{:>10}`) specs: formatting runs in C,
# out of the watchdog's reach, so a huge width is refused before it is attempted.
_FORMAT_NUMBERS = re.compile(r"%[-#0 +*]*(\d+)(?:\.(\d+))?|\{[^{}]*:[^{}]*?(\d+)(?:\.(\d+))?[^{}]*\}")


def check_format_text(text: Any) -> None:
    """Refuse a format string whose width or precision is past the output bound."""
    budget = _budget()
    if budget is None or not isinstance(text, str) or ("%" not in text and "{" not in text):
        return
    for match in _FORMAT_NUMBERS.finditer(text):
        for number in match.groups():
            if number is not None and len(number) > 6:
                budget.check_size(int(number), "a format width")


def _check_modulo(left: Any, right: Any) -> None:
    check_format_text(left)


_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "*": _check_repeat, "**": _check_power, "+": _check_join, "%": _check_modulo
}


def bounded_concat(values: tuple[Any, ...]) -> str:
    """The `~` operator: the joined text, refused before building it when it would be too big."""
    texts = [v if isinstance(v, str) else str(v) for v in values]
    budget = _budget()
    if budget is not None:
        budget.check_size(sum(len(t) for t in texts), "a joined text")
    return "".join(texts)


def bounded_range(*args: int) -> Iterator[int]:
    """`range` for templates: at most MAX_RANGE items, with the deadline checked as it runs."""
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise OverflowError(f"range() of {len(items):,} items: a template range holds at most {MAX_RANGE:,}")
    budget = _budget()
    for index, item in enumerate(items):
        if budget is not None and index % 1024 == 0:
            budget.check_time()
        yield item


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` to a checked join instead of Python's unchecked str.join."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


_GROWING_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "format", "replace", "batch", "slice"})


def _check_replace(args: tuple[Any, ...]) -> None:
    budget = _budget()
    if budget is not None and len(args) >= 3 and all(isinstance(a, str) for a in args[:3]):
        text, old, new = args[0], args[1], args[2]
        count = text.count(old) if old else len(text) + 1
        budget.check_size(len(text) + count * max(len(new) - len(old), 0), "a replaced text")


def _guard_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that checks the deadline and refuses integer arguments past the output bound."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        if budget is not None:
            budget.check_time()
            if args:
                check_format_text(args[0])
                _check_replace(args)
            for value in (*args[1:], *kwargs.values()):
                if isinstance(value, int) and not isinstance(value, bool):
                    budget.check_size(value, "a filter argument")
        return func(*args, **kwargs)

    for attr in ("jinja_pass_arg",):
        if hasattr(func, attr):
            setattr(guarded, attr, getattr(func, attr))
    guarded.__name__ = getattr(func, "__name__", "filter")
    return guarded


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox plus the checks above; render through render_stream() inside a RenderBudget."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset(_CHECKS)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.globals["range"] = bounded_range
        self.bounded_concat = bounded_concat

    def guard_filters(self) -> None:
        """Wrap the filters whose output can grow far past their input (a width, a count, a format)."""
        self.filters = {
            name: _guard_filter(func) if name in _GROWING_FILTERS else func for name, func in self.filters.items()
        }

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """str.format / format_map, with the format string's widths checked first."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            check_format_text(getattr(value, "__self__", None))
        return wrapped

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        """`*`, `**`, `+` and `%` with their size checked first."""
        _CHECKS[operator_name](left, right)
        return _BINOPS[operator_name](left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call from template code: the deadline, and no integer argument past the output bound."""
        budget = _budget()
        if budget is not None:
            budget.check_time()
            for value in (*args, *kwargs.values()):
                if isinstance(value, int) and not isinstance(value, bool) and value > MAX_RANGE:
                    budget.check_size(value, "a call argument")
        return super().call(__context, __obj, *args, **kwargs)


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul, "**": operator.pow, "+": operator.add, "%": operator.mod
}


def render_stream(template: Any, document: dict[str, Any], budget: RenderBudget, used: int = 0) -> str:
    """Render one template inside an armed budget; `used`: characters the chart's other files already took."""
    chunks: list[str] = []
    size = used
    limit = budget.limits.render_output_bytes
    for chunk in template.generate(document):
        size += len(chunk)
        if size > limit:
            budget.check_size(size)
        chunks.append(chunk)
    budget.check_time()
    return "".join(chunks)
