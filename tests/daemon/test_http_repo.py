"""The forge mirror over HTTPS-style smart HTTP with a token from HOMEPORT_GIT_TOKEN (or its file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.source.errors import GitSourceError
from reconciler.source.remote import LabMirror
from tests.daemon.githttp import git_http
from tests.daemon.labrepo import LabRepo, lab_files, resource_yaml


def test_token_auth_from_env_or_file_and_a_refused_token(tmp_path: Path) -> None:
    forge = LabRepo(tmp_path / "srv" / "lab.git", bare=True)
    forge.commit(lab_files(1), "lab")
    with git_http(tmp_path / "srv", "homeport", "t0ken") as server:
        url = f"{server.url}/lab.git"
        env_mirror = LabMirror(url, tmp_path / "a.git", env={"HOMEPORT_GIT_TOKEN": "t0ken",
                                                              "HOMEPORT_GIT_USERNAME": "homeport"})
        assert env_mirror.sync().fetched and env_mirror.local_head() == forge.head()

        token_file = tmp_path / "token"
        token_file.write_text("t0ken\n")
        file_mirror = LabMirror(url, tmp_path / "b.git", env={"HOMEPORT_GIT_TOKEN_FILE": str(token_file),
                                                               "HOMEPORT_GIT_USERNAME": "homeport"})
        head = forge.commit({"resources/vm-4.yaml": resource_yaml("vm-4").encode()})
        assert file_mirror.remote_head() == head

        wrong = LabMirror(url, tmp_path / "c.git", env={"HOMEPORT_GIT_TOKEN": "guess",
                                                         "HOMEPORT_GIT_USERNAME": "homeport"})
        with pytest.raises(GitSourceError) as refused:
            wrong.remote_head()
        assert "guess" not in str(refused.value) and "refused the credentials" in str(refused.value)
        missing = LabMirror(url, tmp_path / "d.git", env={})
        with pytest.raises(GitSourceError, match="HOMEPORT_GIT_TOKEN"):
            missing.remote_head()
