"""Forges: push a proposal branch and open (or merge) its pull request on GitHub or Gitea.

GitHub REST v3 and Gitea's API v1 have the same shape for what homeport calls: POST
/repos/{owner}/{repo}/pulls opens a pull request; merging is PUT .../pulls/{n}/merge on GitHub and
POST .../pulls/{n}/merge on Gitea. The token comes from the lab's `token_env` / `token_file` and is never
logged, stored or returned (agents see only the pull request's URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pygit2

from reconciler.models.lab import ForgeConfig
from reconciler.providers.errors import ProviderError
from reconciler.providers.secrets import read_secret

if TYPE_CHECKING:  # httpx is imported when a forge is used, not by every command that maps ForgeError
    import httpx


class ForgeError(Exception):
    """The forge refused or could not be reached; the message never holds the token."""


@dataclass(frozen=True)
class PullRequest:
    """An opened pull request."""

    number: int
    url: str


class _PushCredentials(pygit2.RemoteCallbacks):
    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token
        self.tries = 0

    def credentials(self, url: str, username_from_url: str | None, allowed_types: int) -> pygit2.UserPass:
        """The forge token as the password; refused after one try."""
        self.tries += 1
        if self.token is None or self.tries > 1:
            raise ForgeError("the forge refused the push credentials (check the lab's forge token)")
        return pygit2.UserPass(username_from_url or "x-access-token", self.token)


class ForgeClient:
    """The few forge calls proposals need."""

    def __init__(self, config: ForgeConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        import httpx

        self.config = config
        try:
            self.token = read_secret(config.token_env, config.token_file, what="forge token")
        except ProviderError as exc:
            raise ForgeError(str(exc)) from None
        if config.url:
            base = config.url.rstrip("/")
            self.api = base if base.endswith(("/api/v3", "/api/v1")) else (
                base + ("/api/v1" if config.type == "gitea" else "/api/v3"))
        else:
            self.api = "https://api.github.com" if config.type == "github" else ""
        if not self.api:
            raise ForgeError("a gitea forge needs `url` (e.g. https://gitea.lan) in homeport.yaml")
        headers = {"Accept": "application/vnd.github+json" if config.type == "github" else "application/json",
                   "User-Agent": "homeport"}
        if self.token:
            headers["Authorization"] = f"token {self.token}" if config.type == "gitea" else f"Bearer {self.token}"
        self.http = httpx.Client(base_url=self.api, headers=headers, timeout=30, transport=transport)

    def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        try:
            response = self.http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ForgeError(f"{self.config.type} at {self.api} could not be reached: {type(exc).__name__}") from None
        if response.status_code >= 400:
            try:
                message = str(response.json().get("message", ""))[:300]
            except ValueError:
                message = response.text[:300]
            if self.token:
                message = message.replace(self.token, "***")
            raise ForgeError(f"{self.config.type} answered {response.status_code} to {method} {path}: {message}")
        data = response.json() if response.content else {}
        return data if isinstance(data, dict) else {}

    def push(self, repo: pygit2.Repository, branch: str) -> None:
        """Push refs/heads/<branch> to the lab's forge remote."""
        try:
            remote = repo.remotes[self.config.remote]
        except (KeyError, ValueError):
            raise ForgeError(f"the lab repository has no remote {self.config.remote!r}; add it with "
                             f"`git remote add {self.config.remote} URL`") from None
        try:
            remote.push([f"refs/heads/{branch}:refs/heads/{branch}"], callbacks=_PushCredentials(self.token))
        except pygit2.GitError as exc:
            text = str(exc).replace(self.token, "***") if self.token else str(exc)
            raise ForgeError(f"pushing {branch} failed: {text}") from None

    def open_pull_request(self, *, title: str, head: str, base: str, body: str) -> PullRequest:
        """POST /repos/{repo}/pulls."""
        data = self._call("POST", f"/repos/{self.config.repo}/pulls",
                          {"title": title, "head": head, "base": base, "body": body})
        return PullRequest(number=int(data["number"]), url=str(data.get("html_url") or data.get("url")))

    def update_pull_request_body(self, number: int, body: str) -> None:
        """PATCH /repos/{repo}/pulls/{number} with a new body (GitHub and Gitea alike)."""
        self._call("PATCH", f"/repos/{self.config.repo}/pulls/{number}", {"body": body})

    def merge_pull_request(self, number: int, *, title: str) -> str:
        """Merge on the forge; the merge commit's sha."""
        if self.config.type == "gitea":
            data = self._call("POST", f"/repos/{self.config.repo}/pulls/{number}/merge",
                              {"Do": "merge", "MergeTitleField": title})
        else:
            data = self._call("PUT", f"/repos/{self.config.repo}/pulls/{number}/merge",
                              {"commit_title": title, "merge_method": "merge"})
        return str(data.get("sha", ""))

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()
