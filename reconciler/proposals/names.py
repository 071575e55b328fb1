"""Checks on names agents send before anything touches Git: slugs, branch names, repository paths."""

from __future__ import annotations

import re

from reconciler.models.meta import DNS1123_LABEL

BRANCH_PREFIX = "proposals/"
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DESIRED_TOPS = ("pools", "templates", "resources")


class ProposalInputError(ValueError):
    """An argument is unsafe or invalid; the message says what to send instead."""


def slugify(text: str, limit: int = 40) -> str:
    """A branch-safe slug ('Deploy Ollama on GPU!' -> 'deploy-ollama-on-gpu')."""
    slug = _SLUG_CHARS.sub("-", text.lower()).strip("-")[:limit].strip("-")
    return slug or "change"


def check_text(value: str, what: str, *, limit: int = 4000, multiline: bool = False) -> str:
    """Refuse control characters (newlines only where multiline) and over-long text."""
    probe = value.replace("\n", "").replace("\t", "") if multiline else value
    if _CONTROL.search(probe):
        raise ProposalInputError(f"{what} contains control characters; send plain printable text")
    if len(value) > limit:
        raise ProposalInputError(f"{what} is {len(value)} characters long; keep it under {limit}")
    return value


def check_resource_name(name: str, what: str = "name") -> str:
    """A DNS-1123 label, refused with a clear message otherwise (this also stops '..', '/', '-x' and controls)."""
    check_text(name, what, limit=63)
    if not DNS1123_LABEL.match(name):
        raise ProposalInputError(
            f"{what} {name!r} is not a DNS-1123 label: use at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit (e.g. 'jenkins-prod')"
        )
    return name


def check_branch(branch: str) -> str:
    """A proposal branch name: proposals/<id>-<slug>, no '..', no leading '-', no control characters."""
    check_text(branch, "branch", limit=200)
    if not branch.startswith(BRANCH_PREFIX):
        raise ProposalInputError(f"branch {branch!r} is not a proposal branch; proposal branches start with "
                                 f"{BRANCH_PREFIX!r} (list them with list-proposals)")
    rest = branch[len(BRANCH_PREFIX):]
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,120}", rest) or ".." in branch:
        raise ProposalInputError(f"branch {branch!r} is malformed: expected proposals/<id>-<slug> with lower-case "
                                 "letters, digits and '-' only")
    return branch


def check_repo_path(path: str) -> str:
    """A desired-state file path inside the lab: relative, under pools/, templates/ or resources/, *.yaml."""
    check_text(path, "path", limit=300)
    parts = path.split("/")
    if path.startswith(("/", "-")) or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise ProposalInputError(f"path {path!r} is not allowed: send a relative path such as "
                                 "'resources/jenkins.yaml' without '..', leading '/' or '-'")
    if path != "homeport.yaml" and (parts[0] not in _DESIRED_TOPS or not path.endswith((".yaml", ".yml"))):
        raise ProposalInputError(f"path {path!r} is outside the desired state: proposals edit homeport.yaml or "
                                 "*.yaml files under pools/, templates/ or resources/")
    if any(p.startswith("-") for p in parts):
        raise ProposalInputError(f"path {path!r} has a component starting with '-'; rename it")
    return path


def check_proposal_id(value: str) -> str:
    """A proposal id as list-proposals prints it (hex, 8-32 characters)."""
    check_text(value, "proposal_id", limit=64)
    if not re.fullmatch(r"[0-9a-f]{8,32}", value):
        raise ProposalInputError(f"proposal_id {value!r} is malformed: send the id list-proposals returns "
                                 "(8 to 32 hex characters, e.g. '3f9a1c2e')")
    return value
