"""HOMEPORT_DATABASE_URL_FILE: the database URL from a secret file (Compose, Kubernetes), for the CLI
and the daemon alike; errors name the variable and the file, never the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.store.database import DatabaseError, database_url_from_env


def test_url_beats_file_and_empty_url_falls_through(tmp_path: Path) -> None:
    secret = tmp_path / "database_url"
    secret.write_text("postgresql://homeport:s3cret@db/homeport\n", encoding="utf-8")
    assert database_url_from_env({}) is None
    assert database_url_from_env({"HOMEPORT_DATABASE_URL": "sqlite:////x.db",
                                  "HOMEPORT_DATABASE_URL_FILE": str(secret)}) == "sqlite:////x.db"
    assert database_url_from_env({"HOMEPORT_DATABASE_URL": "", "HOMEPORT_DATABASE_URL_FILE": str(secret)}) == \
        "postgresql+psycopg://homeport:s3cret@db/homeport"


@pytest.mark.parametrize("content", [None, ""])
def test_missing_or_empty_secret_file_is_a_named_error(tmp_path: Path, content: str | None) -> None:
    secret = tmp_path / "database_url"
    if content is not None:
        secret.write_text(content, encoding="utf-8")
    with pytest.raises(DatabaseError) as caught:
        database_url_from_env({"HOMEPORT_DATABASE_URL_FILE": str(secret)})
    assert "HOMEPORT_DATABASE_URL_FILE" in str(caught.value) and str(secret) in str(caught.value)
