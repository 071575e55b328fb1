"""Secret environment values reach the container and nothing else: not files, not state, not fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reconciler.providers.errors import PermanentProviderError
from reconciler.store.tables import ProviderStateRow
from tests.backends.dockerd import DockerEngine, free_port
from tests.providers.docker.conftest import LAB, web_resource
from tests.providers.docker.test_converge import Build, create

pytestmark = pytest.mark.slow  # real dockerd engines

SECRET = "hp-test-secret-4f1c9e"


def test_secret_env_is_delivered_but_never_stored(
    clean_engines: dict[str, DockerEngine],
    make_provider: Build,
    state_db: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HP_TEST_API_TOKEN", SECRET)
    provider = make_provider(clean_engines)
    web = web_resource("vault", free_port(), node="node1", secret_env={"API_TOKEN": "HP_TEST_API_TOKEN"})
    result = create(provider, web)
    assert SECRET not in result.model_dump_json()

    client = clean_engines["node1"].client()
    try:
        env = client.inspect_container("lab1-vault")["Config"]["Env"]
    finally:
        client.close()
    assert f"API_TOKEN={SECRET}" in env

    observed = provider.load_detail(provider.observe().owned(LAB)["vault"])
    assert observed.fields["env"]["API_TOKEN"] == "(secret)"
    assert SECRET not in observed.model_dump_json()
    with state_db.session() as s:
        stored = [row.value for row in s.execute(select(ProviderStateRow)).scalars()]
    assert stored and SECRET not in json.dumps(stored)
    written = [p for p in (tmp_path / "work").rglob("*") if p.is_file()]
    assert any(p.name == "compose.yaml" for p in written)
    assert not [p for p in written if SECRET in p.read_text(errors="replace")]


def test_missing_secret_is_a_clear_error_before_anything_runs(
    clean_engines: dict[str, DockerEngine], make_provider: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HP_TEST_UNSET_TOKEN", raising=False)
    provider = make_provider(clean_engines)
    web = web_resource("no-secret", free_port(), node="node1", secret_env={"API_TOKEN": "HP_TEST_UNSET_TOKEN"})
    with pytest.raises(
        PermanentProviderError, match="no-secret: secret_env API_TOKEN: environment variable HP_TEST_UNSET_TOKEN"
    ):
        create(provider, web)
    assert provider.observe().owned(LAB) == {}
