"""Plans: a list of changes, each with field paths, reason and risk."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, computed_field, model_validator

from reconciler.models.placement import PlacementReport


class Risk(StrEnum):
    """How much a change can hurt: low (tags), medium (growth, restarts), high (replace, delete, shrink)."""

    low = "low"
    medium = "medium"
    high = "high"

    @property
    def rank(self) -> int:
        """Ordering: low < medium < high."""
        return {"low": 0, "medium": 1, "high": 2}[self.value]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank < other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank > other.rank


class Mode(StrEnum):
    """Who asked for a run: a person approving this plan, or the daemon acting under policy."""

    manual = "manual"
    auto = "auto"


class Op(StrEnum):
    """What a change does."""

    create = "create"
    update = "update"
    replace = "replace"  # type: ignore[assignment]  # shadows str.replace on purpose: the op is called replace
    delete = "delete"
    rename = "rename"
    noop = "noop"


class ApplyStatus(StrEnum):
    """What happened to one change in a run."""

    applied = "applied"
    failed = "failed"
    skipped = "skipped"  # held back during the run (a dependency failed or waits); its block says why


class ErrorKind(StrEnum):
    """How a failed change may be retried: transient (later, with backoff) or permanent (after a fix)."""

    transient = "transient"
    permanent = "permanent"


class RunStatus(StrEnum):
    """How a reconcile run ended."""

    ok = "ok"
    partial = "partial"  # some changes failed, or a provider could not be observed
    failed = "failed"  # every change failed, or the run itself failed
    invalid = "invalid"  # the commit does not load, render or plan; nothing was applied
    skipped = "skipped"  # another run held the lab's lock
    declined = "declined"  # the person asked to approve the plan said no
    planned = "planned"  # planned only, nothing applied


class BlockKind(StrEnum):
    """Why a change is held back, by what would release it."""

    policy = "policy"  # reconcile policy: paused, auto_apply off, self_heal off, risk above max_auto_risk
    window = "window"  # outside every sync window
    prune = "prune"  # a prune guard (prune off, too many deletes, stateful)
    backoff = "backoff"  # transient provider error: waiting before retrying
    dependency = "dependency"  # waiting on another resource of the lab
    capacity = "capacity"  # no node of the pool has room
    unavailable = "unavailable"  # the provider could not be observed
    preflight = "preflight"  # a provider check before applying failed


class BlockReason(BaseModel):
    """A typed reason a change is not applied now: its kind and the message people read."""

    model_config = {"frozen": True}

    kind: BlockKind
    message: str


def _legacy_block_kind(message: str) -> BlockKind:
    """The kind of a block stored as text only (plans recorded before block reasons were typed)."""
    text = message.lower()
    for prefix, kind in (("no capacity", BlockKind.capacity), ("waiting on a dependency", BlockKind.dependency),
                         ("waiting: transient", BlockKind.backoff), ("preflight", BlockKind.preflight),
                         ("refusing to prune", BlockKind.prune), ("prune is off", BlockKind.prune),
                         ("stateful resource", BlockKind.prune), ("outside", BlockKind.window),
                         ("provider ", BlockKind.unavailable)):
        if text.startswith(prefix):
            return kind
    return BlockKind.policy


class FieldChange(BaseModel):
    """One field's difference, by dotted path ('disks[data].size_gb')."""

    path: str
    old: Any = None
    new: Any = None
    forces_replacement: bool = False
    risk: Risk = Risk.low


class Change(BaseModel):
    """One resource's change."""

    op: Op
    resource: str
    provider: str
    provider_type: str
    node: str | None = None
    fields: list[FieldChange] = Field(default_factory=list)
    reason: str
    risk: Risk = Risk.low
    drift: bool = Field(default=False, description="The live resource moved away from what was last applied")
    previous_name: str | None = None
    provider_id: str | None = None
    desired: dict[str, Any] = Field(default_factory=dict, description="Desired provider fields")
    block: BlockReason | None = Field(default=None, description="Why this change is held back (kind and message)")
    placement: PlacementReport | None = Field(
        default=None, description="For a new resource: the node picked, the runner-up, or why nothing fits"
    )
    preview: dict[str, Any] | None = Field(
        default=None,
        description="The provider's own preview, e.g. a CloudFormation change set (plan --provider-preview)",
    )

    @model_validator(mode="before")
    @classmethod
    def _block_from_text(cls, data: Any) -> Any:
        """Accept `blocked: "text"` (plans stored before block reasons were typed) as a block reason."""
        if isinstance(data, dict) and "blocked" in data:
            data = dict(data)
            text = data.pop("blocked")
            if text and data.get("block") is None:
                data["block"] = {"kind": _legacy_block_kind(str(text)), "message": str(text)}
        return data

    @computed_field(description="Why the gate holds this change back (the block reason's message)")  # type: ignore[prop-decorator]
    @property
    def blocked(self) -> str | None:
        """The block reason's message, or None when the change may be applied."""
        return self.block.message if self.block is not None else None

    def hold(self, kind: BlockKind, message: str) -> None:
        """Hold this change back for a reason of this kind."""
        self.block = BlockReason(kind=kind, message=message)

    @property
    def forces_replacement(self) -> bool:
        """True when a field forces the resource to be replaced."""
        return any(f.forces_replacement for f in self.fields)

    def summary(self) -> str:
        """One line for people."""
        if self.op is Op.noop:
            return f"= {self.resource}: {self.reason}"
        sym = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "rename": "->"}[self.op.value]
        return f"{sym} {self.resource} ({self.op.value}, risk {self.risk.value}): {self.reason}"


class Plan(BaseModel):
    """Changes the reconciler would make for one revision."""

    lab: str
    revision: str
    changes: list[Change] = Field(default_factory=list)
    unmanaged: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def actionable(self) -> list[Change]:
        """Changes that are not no-ops."""
        return [c for c in self.changes if c.op is not Op.noop]

    @property
    def risk(self) -> Risk:
        """Highest risk among actionable changes (low for an empty plan)."""
        return max((c.risk for c in self.actionable), key=lambda r: r.rank, default=Risk.low)

    def counts(self) -> dict[str, int]:
        """Changes per op; a change held back is counted once, under held_back, not under its op."""
        counter = Counter(c.op.value for c in self.changes if c.op is Op.noop or not c.blocked)
        counts = {op.value: counter.get(op.value, 0) for op in Op}
        counts["held_back"] = len(self.held_back)
        return counts

    @property
    def held_back(self) -> list[Change]:
        """Actionable changes the gate, placement or a check holds back: not applied by this run."""
        return [c for c in self.actionable if c.blocked]

    @property
    def has_changes(self) -> bool:
        """Whether applying would change anything."""
        return bool(self.actionable)
