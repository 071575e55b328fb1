"""The application layer every front door calls: CLI, MCP tools, daemon and the REST/web door.

    from reconciler.service import LabService, commands, queries
    with LabService.open(Path("my-lab"), actor="cli:me") as lab:
        print(queries.status(lab).model_dump_json())
        report = commands.plan(lab)

`lab.LabService` opens a lab (a checkout or a bare mirror), caches main's desired state per commit and
holds the run lock; `queries` answers read-only questions and `commands` changes things, both with
pydantic views (`views`) and `errors.ServiceError`s carrying stable codes (not_found, invalid,
conflict, forbidden, unavailable) that each door maps in one place (`errors.http_status`,
`errors.exit_code`, `errors.agent_message`).
"""

from reconciler.models.plan import Mode
from reconciler.phases.observe import Observation
from reconciler.service.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    Unavailable,
)
from reconciler.service.lab import LabService

__all__ = [
    "Conflict",
    "ErrorCode",
    "Forbidden",
    "Invalid",
    "LabService",
    "Mode",
    "NotFound",
    "Observation",
    "ServiceError",
    "Unavailable",
]
