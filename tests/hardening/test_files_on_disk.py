"""Issue 24 item 10: files on disk (state.db and mirror modes, no forge password in Git config) and
bidi characters printed raw by `proposals show`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.models.text import visible_text
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.proposals.create import ProposalDraft, propose
from reconciler.proposals.edits import new_object_edit
from reconciler.source.errors import GitSourceError
from reconciler.source.remote import LabMirror, split_password
from tests.backends.homeport_lab import make_lab
from tests.foundation.labkit import homeport, new_mini_lab


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_db_is_private_to_its_owner(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    db = lab / ".homeport" / "state.db"
    assert _mode(db) == 0o600
    for suffix in ("-wal", "-shm"):
        extra = db.with_name(db.name + suffix)
        if extra.exists():
            assert _mode(extra) & 0o077 == 0, extra


def test_an_existing_world_readable_state_db_is_made_private(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path)
    homeport("status", "--lab", str(lab))
    db = lab / ".homeport" / "state.db"
    db.chmod(0o644)
    homeport("status", "--lab", str(lab))
    assert _mode(db) == 0o600


@pytest.mark.parametrize(
    ("url", "clean", "password"),
    [
        ("https://bob:s3cret@forge.lan/lab.git", "https://bob@forge.lan/lab.git", "s3cret"),
        ("https://:tok@forge.lan/lab.git", "https://forge.lan/lab.git", "tok"),
        ("https://bob@forge.lan/lab.git", "https://bob@forge.lan/lab.git", None),
        ("ssh://git@forge.lan/lab.git", "ssh://git@forge.lan/lab.git", None),
        ("git@forge.lan:me/lab.git", "git@forge.lan:me/lab.git", None),
    ],
)
def test_a_password_in_the_repo_url_is_split_off(url: str, clean: str, password: str | None) -> None:
    assert split_password(url) == (clean, password)


def test_the_mirror_never_stores_the_url_password(tmp_path: Path) -> None:
    """A repo URL's password once landed in mirror.git/config (mode 0644); now it lives only in memory."""
    path = tmp_path / "state" / "mirror.git"
    mirror = LabMirror("https://bob:s3cret@127.0.0.1:9/lab.git", path, env={})
    assert mirror.repo.remotes["origin"].url == "https://bob@127.0.0.1:9/lab.git"
    config = (path / "config").read_text()
    assert "s3cret" not in config
    assert _mode(path) == 0o700 and _mode(path / "config") == 0o600
    assert mirror._callbacks().url_password == "s3cret"  # given to libgit2 through the credential callback
    with pytest.raises(GitSourceError) as caught:
        mirror.remote_head()
    assert "s3cret" not in str(caught.value)


def test_a_mirror_an_older_version_wrote_is_cleaned(tmp_path: Path) -> None:
    import pygit2

    path = tmp_path / "mirror.git"
    repo = pygit2.init_repository(str(path), bare=True)
    repo.remotes.create("origin", "https://bob:s3cret@127.0.0.1:9/lab.git")
    (path / "config").chmod(0o644)
    LabMirror("https://bob:s3cret@127.0.0.1:9/lab.git", path, env={}).repo  # noqa: B018 (opening it is the act)
    assert "s3cret" not in (path / "config").read_text()
    assert _mode(path / "config") == 0o600


@pytest.mark.parametrize("text", ["\u202eevil\u202c", "a\u2066b\u2069", "\x1b[2J", "rtl\u200f", "\u061c"])
def test_visible_text_escapes_bidi_and_control_characters(text: str) -> None:
    shown = visible_text(text)
    assert "\\u" in shown and all(ord(c) < 0x7F and (c.isprintable()) for c in shown if c not in "\n\t")


def test_proposals_show_prints_bidi_characters_escaped(tmp_path: Path) -> None:
    lab = make_lab(tmp_path / "lab")
    s = LabSession.open(lab, actor="agent:bidi", actor_kind="agent")
    try:
        state = load(s, fetch(s, None))
        path, data = new_object_edit(state, "UniversalResource", "grafana",
                                     {"pool": "/infrastructure/on-premise/sim/compute",
                                      "requirements": {"cpu": 1, "memory_gb": 1}})
        reason = "harmless \u202eetadpu\u202c change"
        pid = propose(s, ProposalDraft(title="Add \u2066grafana\u2069", edits={path: data}, reason=reason)).id
    finally:
        s.close()
    shown = CliRunner().invoke(app, ["proposals", "show", pid, "--lab", str(lab)])
    assert shown.exit_code == 0, shown.stdout
    for hidden in ("\u202e", "\u202c", "\u2066", "\u2069"):
        assert hidden not in shown.stdout
    assert "\\u202e" in shown.stdout and "\\u2066grafana\\u2069" in shown.stdout
