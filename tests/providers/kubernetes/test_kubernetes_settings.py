"""Provider options: every mistake named with its field and the fix; secrets only by reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.kubernetes.settings import load_settings


def settings_of(entry: dict[str, Any]) -> Any:
    return load_settings("k8s", ProviderConfig.model_validate({"type": "kubernetes", **entry}))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"options": {"kubconfig": "x"}}, "providers.k8s.options.kubconfig: Extra inputs are not permitted"),
        ({"options": {"request_timeout": 0}}, "providers.k8s.options.request_timeout: Input should be greater than 0"),
        ({"options": {"conflicts": "sometimes"}}, "providers.k8s.options.conflicts: Input should be 'self_heal'"),
        ({"options": {"kubeconfig": "/nonexistent/kubeconfig"}}, "/nonexistent/kubeconfig is not a file"),
        ({"credentials": {"token_secret_env": "K8S_TEST_TOKEN"}}, "a bearer token needs endpoint"),
        ({"endpoint": "k8s.lan:6443"}, "is not a URL: write https://host:6443"),
        ({"credentials": {"token_secret_env": "K8S_UNSET_TOKEN"}, "endpoint": "https://k8s.lan:6443"},
         "environment variable K8S_UNSET_TOKEN is not set"),
    ],
)
def test_bad_options_are_refused_with_the_field(
    entry: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K8S_TEST_TOKEN", "s3cret-token")
    monkeypatch.delenv("K8S_UNSET_TOKEN", raising=False)
    with pytest.raises(PermanentProviderError) as err:
        settings_of(entry)
    assert message in str(err.value)
    assert "s3cret-token" not in str(err.value)


def test_a_token_comes_from_its_reference_and_never_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    settings = settings_of({"endpoint": "https://k8s.lan:6443", "credentials": {"token_secret_file": str(token_file)}})
    assert settings.token == "file-token"
    assert "file-token" not in repr(settings) and "file-token" not in settings.source
    assert settings.source == "https://k8s.lan:6443 with a bearer token"


def test_the_example_labs_entries_load(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    settings = settings_of(
        {"endpoint": "https://k8s.lan:6443", "options": {"kubeconfig": str(kubeconfig), "context": "production",
                                                         "namespace": "homelab"}}
    )
    assert settings.source == f"kubeconfig {kubeconfig} context production"
    assert settings.options.namespaces == [] and settings.options.create_namespaces is True
    assert settings_of({"options": {"in_cluster": True}}).source == "in-cluster service account"
