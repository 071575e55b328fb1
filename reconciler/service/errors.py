"""One error tree for every front door, with stable codes, and the one place each door maps it.

The engine raises its own errors (DesiredStateError, ReviewError, LabBusyError, ...). Service functions
translate them into a `ServiceError` carrying a stable `code`; the message is the engine's own, written
for people and safe to show (no secrets). A door maps the code once: an exit status for the CLI, an HTTP
status for the REST API, a ToolError for MCP.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel

from reconciler.phases.run import PlanError
from reconciler.proposals.create import ProposalRefused
from reconciler.proposals.forge import ForgeError
from reconciler.proposals.names import ProposalInputError
from reconciler.proposals.records import ProposalNotFound
from reconciler.proposals.review import ReviewError
from reconciler.providers.errors import ProviderError as ProviderError  # re-exported for the doors
from reconciler.render.errors import ChartError, RenderError
from reconciler.source.errors import DesiredStateError
from reconciler.source.errors import GitSourceError as GitSourceError  # re-exported for the doors
from reconciler.store.database import DatabaseError
from reconciler.store.locks import LabBusyError, LockError
from reconciler.store.tokens import TokenError


class ErrorCode(StrEnum):
    """What kind of failure, as every door reports it (stable: clients match on it)."""

    not_found = "not_found"
    invalid = "invalid"
    conflict = "conflict"
    forbidden = "forbidden"
    unavailable = "unavailable"


class ServiceError(Exception):
    """A failure a caller can act on: `code` says what kind, the message says what is wrong and what to do."""

    code: ClassVar[ErrorCode] = ErrorCode.invalid

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def body(self) -> ErrorBody:
        """The error as a JSON body (REST API, `--output json`)."""
        return ErrorBody(code=self.code, message=self.message, hint=self.hint)


class NotFound(ServiceError):
    """The named lab object (proposal, snapshot, resource, token, run) does not exist."""

    code = ErrorCode.not_found


class Invalid(ServiceError):
    """The request or the desired state is invalid (the message names file, line and field where known)."""

    code = ErrorCode.invalid


class Conflict(ServiceError):
    """The request conflicts with the lab's current state (proposal not open, another run holds the lock)."""

    code = ErrorCode.conflict


class Forbidden(ServiceError):
    """The caller's scopes or role do not allow this."""

    code = ErrorCode.forbidden


class Unavailable(ServiceError):
    """A backend the request needs (database, provider, forge) cannot be reached now; try again later."""

    code = ErrorCode.unavailable


class ErrorBody(BaseModel):
    """The JSON shape of an error, the same for every door."""

    code: ErrorCode
    message: str
    hint: str | None = None


# Most specific first: ProposalNotFound and ProposalInputError are ValueErrors too.
_ENGINE_ERRORS: tuple[tuple[type[BaseException], type[ServiceError]], ...] = (
    (ProposalNotFound, NotFound),
    (LookupError, NotFound),
    (ReviewError, Conflict),
    (LabBusyError, Conflict),
    (ProposalRefused, Invalid),
    (ProposalInputError, Invalid),
    (TokenError, Invalid),
    (DesiredStateError, Invalid),
    (GitSourceError, Invalid),
    (PlanError, Invalid),
    (RenderError, Invalid),
    (ChartError, Invalid),
    (DatabaseError, Unavailable),
    (LockError, Unavailable),
    (ProviderError, Unavailable),
    (ForgeError, Unavailable),
    (PermissionError, Forbidden),
    (ValueError, Invalid),
)


def as_service_error(exc: BaseException) -> ServiceError | None:
    """The service error for an engine error (same message), or None for a bug (which must stay a crash)."""
    if isinstance(exc, ServiceError):
        return exc
    for engine_type, service_type in _ENGINE_ERRORS:
        if isinstance(exc, engine_type):
            message = str(exc)
            if isinstance(exc, KeyError):  # KeyError's str() quotes its argument
                message = message.strip("'\"")
            return service_type(message)
    return None


@contextmanager
def engine_errors() -> Iterator[None]:
    """Translate the engine's user-facing errors raised inside the block into ServiceErrors."""
    try:
        yield
    except ServiceError:
        raise
    except Exception as exc:
        mapped = as_service_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


# -- the one mapping per door -------------------------------------------------------------------------

HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.not_found: 404,
    ErrorCode.invalid: 422,
    ErrorCode.conflict: 409,
    ErrorCode.forbidden: 403,
    ErrorCode.unavailable: 503,
}

# The CLI has always exited 1 for every user-facing error; scripts rely on it.
EXIT_CODE: dict[ErrorCode, int] = {code: 1 for code in ErrorCode}


def http_status(error: ServiceError) -> int:
    """The HTTP status a REST door answers with."""
    return HTTP_STATUS[error.code]


def exit_code(error: ServiceError) -> int:
    """The exit status of the `homeport` command."""
    return EXIT_CODE[error.code]


def agent_message(error: ServiceError) -> str:
    """The text an MCP tool error carries (the agent reads it and acts on it)."""
    return error.message + (f" ({error.hint})" if error.hint else "")


def cli_message(error: ServiceError) -> str:
    """The text the CLI prints after `error:`."""
    return error.message + (f"\n  hint: {error.hint}" if error.hint else "")
