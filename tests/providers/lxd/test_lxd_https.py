"""A remote LXD over HTTPS with a trusted client certificate: the same daemon listening on 127.0.0.1.

The server certificate is pinned through ca_file (pylxd checks its fingerprint); an untrusted client
certificate and a wrong server certificate are permanent errors that say what to fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError
from tests.backends.lxd import HttpsAccess, LxdDaemon
from tests.providers.lxd.resources import change, make_provider, render, resource


def https_config(access: HttpsAccess, ca_file: Path) -> ProviderConfig:
    """The homeport.yaml entry for the daemon's HTTPS endpoint."""
    return ProviderConfig.model_validate(
        {
            "type": "lxd",
            "endpoint": access.endpoint,
            "ca_file": str(ca_file),
            "nodes": ["lxd1"],
            "options": {"client_cert_file": str(access.client_cert), "client_key_file": str(access.client_key)},
        }
    )


def test_trusted_client_certificate_observes_and_creates(
    lxd: LxdDaemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many hosts set REQUESTS_CA_BUNDLE; it must not replace the pinned server certificate.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    access = lxd.https(tmp_path / "trusted")
    provider = make_provider(lxd, tmp_path, https_config(access, access.server_cert))
    try:
        res = resource("remote")
        result = provider.apply(change(provider, res), res, render(res))
        assert result.provider_id == "remote" and lxd.names() == ["remote"]
        [remote] = provider.observe().resources
        assert (remote.name, remote.owned, remote.status) == ("remote", True, "running")
    finally:
        provider.close()


def test_untrusted_client_and_wrong_server_certificate_are_permanent(lxd: LxdDaemon, tmp_path: Path) -> None:
    stranger = lxd.https(tmp_path / "untrusted", trusted=False)
    provider = make_provider(lxd, tmp_path, https_config(stranger, stranger.server_cert))
    with pytest.raises(PermanentProviderError, match="not trusted"):
        provider.observe()
    provider.close()
    wrong = make_provider(lxd, tmp_path, https_config(stranger, stranger.client_cert))
    with pytest.raises(PermanentProviderError, match="TLS failed"):
        wrong.observe()
    wrong.close()
