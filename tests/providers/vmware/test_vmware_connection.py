"""Connecting to vcsim: certificate checking on by default, CA file, opt-out, login and config errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from tests.backends.vcsim import VcsimServer
from tests.providers.vmware.conftest import PASSWORD_ENV, make_provider


def test_ca_file_lets_the_provider_in(vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = make_provider(vcsim, tmp_path, monkeypatch)
    try:
        inventory = provider.observe()
    finally:
        provider.close()
    assert sorted(n.name for n in inventory.nodes) == ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2", "DC0_H0"]


def test_without_ca_file_the_certificate_is_refused(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyVmomi skips verification for 127.0.0.1 when given no SSL context; the provider must not.
    provider = make_provider(vcsim, tmp_path, monkeypatch, ca_file=None)
    with pytest.raises(PermanentProviderError, match=r"certificate is not trusted.*ca_file"):
        provider.observe()


def test_verify_tls_false_is_the_explicit_opt_out(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = make_provider(vcsim, tmp_path, monkeypatch, ca_file=None, verify_tls=False)
    try:
        assert len(provider.observe().nodes) == 4
    finally:
        provider.close()


def test_wrong_password_is_permanent_and_never_echoed(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = make_provider(vcsim, tmp_path, monkeypatch)
    monkeypatch.setenv("HOMEPORT_TEST_VSPHERE_PASSWORD", "not-the-password-0xdeadbeef")
    with pytest.raises(PermanentProviderError, match="refused the login") as caught:
        provider.observe()
    assert "0xdeadbeef" not in str(caught.value)
    assert vcsim.password not in repr(provider.settings)


def test_missing_password_variable_names_it(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = make_provider(vcsim, tmp_path, monkeypatch)
    monkeypatch.delenv("HOMEPORT_TEST_VSPHERE_PASSWORD")
    with pytest.raises(PermanentProviderError, match="HOMEPORT_TEST_VSPHERE_PASSWORD is not set"):
        provider.observe()


def test_unreadable_ca_file_says_what_to_fix(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = make_provider(vcsim, tmp_path, monkeypatch, ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(PermanentProviderError, match="cannot load the vmware ca_file"):
        provider.observe()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"endpoint": None}, "endpoint is not set"),
        ({"endpoint": "http://127.0.0.1/sdk"}, "is not an https URL"),
        ({"options": {"colour": "blue"}}, "unknown keys colour"),
        ({"options": {"task_timeout": -1}}, "task_timeout.*positive number"),
        ({"options": {"username": "u"}}, "options.username: the user name belongs in credentials"),
        ({"credentials": {"password_env": PASSWORD_ENV}}, "no user name"),
    ],
)
def test_bad_provider_config_is_a_clear_error(
    vcsim: VcsimServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    overrides: dict[str, object],
    message: str,
) -> None:
    provider = make_provider(vcsim, tmp_path, monkeypatch, **overrides)
    with pytest.raises(PermanentProviderError, match=message):
        provider.observe()


def test_nothing_listening_is_transient(vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = make_provider(vcsim, tmp_path, monkeypatch, endpoint=f"https://127.0.0.1:{port}/sdk")
    with pytest.raises(TransientProviderError, match="cannot reach vSphere"):
        provider.observe()
