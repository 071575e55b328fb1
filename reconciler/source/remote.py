"""A local mirror of a lab repository on a forge: cheap head checks (ls-remote) and fetches, with auth.

Credentials come from the environment or a secrets file, never from the URL written in Git:
`HOMEPORT_GIT_TOKEN` / `HOMEPORT_GIT_TOKEN_FILE` (HTTPS, sent as the password of user
`HOMEPORT_GIT_USERNAME`, default `git`), or `HOMEPORT_GIT_SSH_KEY` (a private key file, with
`HOMEPORT_GIT_SSH_KEY_PASSPHRASE_FILE` if it has a passphrase) for ssh:// and scp-style URLs.
SSH host keys are verified against `~/.ssh/known_hosts` of the user running homeport; an unknown or
changed key is refused (libgit2 alone would let it pass).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pygit2

from reconciler.source.errors import GitSourceError

TOKEN_ENV = "HOMEPORT_GIT_TOKEN"
TOKEN_FILE_ENV = "HOMEPORT_GIT_TOKEN_FILE"
USERNAME_ENV = "HOMEPORT_GIT_USERNAME"
SSH_KEY_ENV = "HOMEPORT_GIT_SSH_KEY"
SSH_PASSPHRASE_FILE_ENV = "HOMEPORT_GIT_SSH_KEY_PASSPHRASE_FILE"
_USERINFO = re.compile(r"//[^/@]*@")
_PASSWORD = re.compile(r"^(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:]*):(?P<password>[^/@]*)@")


def redact_remote(url: str) -> str:
    """A remote URL safe to print: any user:password@ part replaced."""
    return _USERINFO.sub("//***@", url)


def split_password(url: str) -> tuple[str, str | None]:
    """(the URL without a password, the password): only the first is ever written to Git config."""
    match = _PASSWORD.match(url)
    if match is None:
        return url, None
    user = match.group("user")
    clean = match.group("head") + (f"{user}@" if user else "") + url[match.end():]
    return clean, match.group("password")


def restrict_tree(path: Path) -> None:
    """The folder 0700 and its Git config 0600: state only its owner may read (the folder guards the rest)."""
    try:
        path.chmod(0o700)
        if (path / "config").exists():
            (path / "config").chmod(0o600)
    except OSError:
        pass  # not ours to change (e.g. a read-only mount): reading still works


def _read_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise GitSourceError(f"cannot read the Git credential file {path}: {exc.strerror}") from None


class _Credentials(pygit2.RemoteCallbacks):
    """Answers libgit2's credential requests from the environment (never from stored config)."""

    def __init__(self, env: dict[str, str], url_password: str | None = None) -> None:
        super().__init__()
        self.env = env
        self.url_password = url_password
        self.tries = 0
        self.refused_host: str | None = None

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        """Trust only what the TLS library or ~/.ssh/known_hosts vouches for."""
        if not valid:
            self.refused_host = host.decode(errors="replace")
        return bool(valid)

    def credentials(self, url: str, username_from_url: str | None,
                    allowed_types: int) -> pygit2.Username | pygit2.UserPass | pygit2.Keypair:
        """One credential per request; a second request for the same operation means it was refused."""
        self.tries += 1
        if self.tries > 1:
            raise GitSourceError(f"the forge refused the credentials for {redact_remote(url)}")
        user = username_from_url or self.env.get(USERNAME_ENV) or "git"
        if allowed_types & pygit2.enums.CredentialType.SSH_KEY and self.env.get(SSH_KEY_ENV):
            key = str(Path(self.env[SSH_KEY_ENV]).expanduser())
            phrase_file = self.env.get(SSH_PASSPHRASE_FILE_ENV)
            return pygit2.Keypair(user, key + ".pub" if Path(key + ".pub").exists() else None, key,
                                  _read_file(phrase_file) if phrase_file else "")
        token = self.env.get(TOKEN_ENV) or (_read_file(self.env[TOKEN_FILE_ENV]) if self.env.get(TOKEN_FILE_ENV)
                                            else self.url_password)
        if allowed_types & pygit2.enums.CredentialType.USERPASS_PLAINTEXT and token:
            return pygit2.UserPass(user, token)
        raise GitSourceError(f"{redact_remote(url)} asks for credentials: set {TOKEN_ENV} (or {TOKEN_FILE_ENV}) "
                             f"for HTTPS, or {SSH_KEY_ENV} for SSH")


def _host_hint(callbacks: _Credentials) -> str:
    if callbacks.refused_host is None:
        return ""
    return (f" (the host key of {callbacks.refused_host} is not in ~/.ssh/known_hosts of this user: check it and add "
            f"it, e.g. with ssh-keyscan)")


@dataclass(frozen=True)
class FetchResult:
    """What a sync found: the remote head and whether anything was fetched."""

    head: str
    fetched: bool


class LabMirror:
    """A bare mirror of the lab repository's branches under `path`, cloned on first use."""

    def __init__(self, url: str, path: Path, *, branch: str = "main", env: dict[str, str] | None = None) -> None:
        # A password in the URL is kept in memory for the credential callback, never in mirror.git/config.
        self.url, self._url_password = split_password(url)
        self.path = path
        self.branch = branch
        self.env = dict(os.environ if env is None else env)
        self._repo: pygit2.Repository | None = None

    def _callbacks(self) -> _Credentials:
        return _Credentials(self.env, self._url_password)

    @property
    def repo(self) -> pygit2.Repository:
        """The local mirror (cloned now if it does not exist yet)."""
        if self._repo is None:
            if (self.path / "HEAD").exists():
                self._repo = pygit2.Repository(str(self.path))
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                old_umask = os.umask(0o077)  # the mirror holds the lab's history: owner only
                try:
                    self._repo = pygit2.init_repository(str(self.path), bare=True, initial_head=self.branch)
                finally:
                    os.umask(old_umask)
                self._repo.remotes.create("origin", self.url)
            if self._repo.remotes["origin"].url != self.url:  # also rewrites a password an older version stored
                self._repo.remotes.set_url("origin", self.url)
            restrict_tree(self.path)
        return self._repo

    def local_head(self) -> str | None:
        """The mirrored commit of the branch, None before the first fetch."""
        ref = self.repo.references.get(f"refs/heads/{self.branch}")
        return str(ref.target) if ref is not None else None

    def remote_head(self) -> str:
        """The branch's commit on the forge, by ls-remote (no objects are transferred)."""
        callbacks = self._callbacks()
        try:
            heads = self.repo.remotes["origin"].list_heads(callbacks=callbacks)
        except GitSourceError:
            raise
        except (pygit2.GitError, KeyError, OSError) as exc:
            raise GitSourceError(redact_remote(f"cannot reach {self.url}: {exc}{_host_hint(callbacks)}")) from None
        wanted = f"refs/heads/{self.branch}"
        for head in heads:
            if head.name == wanted:
                return str(head.oid)
        raise GitSourceError(f"{redact_remote(self.url)} has no branch {self.branch}; push the lab to it first")

    def sync(self, *, known_head: str | None = None) -> FetchResult:
        """Fetch only when the forge's head differs from the mirror's; `known_head` skips the ls-remote."""
        head = known_head or self.remote_head()
        if head == self.local_head():
            return FetchResult(head, fetched=False)
        callbacks = self._callbacks()
        try:
            self.repo.remotes["origin"].fetch(["+refs/heads/*:refs/heads/*"], callbacks=callbacks,
                                              prune=pygit2.enums.FetchPrune.PRUNE)
        except GitSourceError:
            raise
        except (pygit2.GitError, OSError) as exc:
            raise GitSourceError(redact_remote(f"cannot fetch {self.url}: {exc}{_host_hint(callbacks)}")) from None
        return FetchResult(self.local_head() or head, fetched=True)
