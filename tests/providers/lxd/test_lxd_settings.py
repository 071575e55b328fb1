"""Settings from homeport.yaml: endpoints, certificates by path, bad options named; errors mapped at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from pylxd import exceptions as lxd_exc

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.lxd.errors import classify, map_error
from reconciler.providers.lxd.settings import load_settings


def config(**kwargs: Any) -> ProviderConfig:
    """A provider entry of type lxd."""
    return ProviderConfig.model_validate({"type": "lxd", **kwargs})


def test_local_socket_by_default_and_by_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LXD_DIR", str(tmp_path))
    assert load_settings(config(), "lxd").endpoint == str(tmp_path / "unix.socket")
    s = load_settings(
        config(endpoint="unix:///run/lxd.sock", nodes=["lxd1"], options={"operation_timeout": "2m"}), "lxd"
    )
    assert (s.kind, s.endpoint, s.operation_timeout, s.node_name, s.ssh_user) == (
        "unix",
        "/run/lxd.sock",
        120.0,
        "lxd1",
        "root",
    )


def test_https_needs_a_client_certificate_by_path(tmp_path: Path) -> None:
    with pytest.raises(PermanentProviderError, match=r"options.client_cert_file and options.client_key_file"):
        load_settings(config(endpoint="https://lxd.lan:8443"), "lxd")
    with pytest.raises(PermanentProviderError, match=r"providers.lxd.options.client_cert_file: .*does not exist"):
        load_settings(
            config(
                endpoint="https://lxd.lan:8443",
                options={"client_cert_file": "/nope.crt", "client_key_file": "/nope.key"},
            ),
            "lxd",
        )
    crt, key, ca = tmp_path / "c.crt", tmp_path / "c.key", tmp_path / "server.crt"
    for f in (crt, key, ca):
        f.write_text("pem")
    s = load_settings(
        config(
            endpoint="https://lxd.lan:8443/",
            ca_file=str(ca),
            options={"client_cert_file": str(crt), "client_key_file": str(key), "project": "lab"},
        ),
        "lxd",
    )
    assert (s.kind, s.endpoint, s.verify, s.project) == ("https", "https://lxd.lan:8443", str(ca), "lab")
    assert "pem" not in repr(s)  # paths by reference, never contents


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"endpoint": "lxd.lan:8443"}, r"providers.lxd.endpoint 'lxd.lan:8443': write unix://"),
        (
            {"options": {"operation_timout": 5}},
            r"options.operation_timout: Extra inputs are not permitted \(known options:",
        ),
        ({"options": {"stop_timeout": "soon"}}, r"options.stop_timeout: 'soon' is not a duration"),
        ({"options": {"http_timeout": 0}}, r"options.http_timeout must be more than 0"),
    ],
)
def test_bad_settings_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(PermanentProviderError, match=message):
        load_settings(config(**kwargs), "lxd")


class _Answer:
    def __init__(self, status: int, error: str) -> None:
        self.status_code = status
        self.content = error.encode()

    def json(self) -> dict[str, Any]:
        return {"type": "error", "error": self.content.decode(), "error_code": self.status_code}


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (lxd_exc.NotFound(_Answer(404, "Instance not found")), PermanentProviderError, "Instance not found"),
        (lxd_exc.Conflict(_Answer(409, "Instance is busy running a create operation")), TransientProviderError, "busy"),
        (lxd_exc.LXDAPIException(_Answer(500, "database is locked")), TransientProviderError, "locked"),
        (lxd_exc.LXDAPIException(_Answer(403, "not authorized")), PermanentProviderError, "not trusted"),
        (lxd_exc.LXDAPIException(_Answer(400, "Invalid config: Invalid value")), PermanentProviderError, "Invalid"),
        (lxd_exc.ClientConnectionFailed("refused"), TransientProviderError, "cannot reach"),
        (lxd_exc.LXDAPIExtensionNotAvailable("instances"), PermanentProviderError, "instances"),
        (requests.exceptions.ReadTimeout("slow"), TransientProviderError, "no answer in time"),
        (requests.exceptions.ConnectionError("reset"), TransientProviderError, "connection failed"),
        (requests.exceptions.SSLError("bad cert"), PermanentProviderError, "TLS failed"),
    ],
)
def test_every_vendor_error_is_mapped(exc: Exception, kind: type, text: str) -> None:
    mapped = map_error("read instance web", exc)
    assert type(mapped) is kind and text in str(mapped) and "read instance web" in str(mapped)


def test_an_instance_type_the_host_cannot_run_is_permanent_with_the_reason() -> None:
    err = classify(
        "create instance vm1",
        None,
        'Failed creating instance record: Instance type "virtual-machine" is not supported on this server: '
        "vhost_vsock kernel module not loaded",
    )
    assert isinstance(err, PermanentProviderError) and "vhost_vsock" in str(err) and "KVM" in str(err)
