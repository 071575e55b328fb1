"""The PVE client's own HTTPS: parameters as PVE reads them, kept connections, tickets, network faults.

Everything but the encoding table runs against fakepve over TLS (tests/backends/pve.py).
"""

from __future__ import annotations

import select
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.proxmox import client as client_module
from reconciler.providers.proxmox.client import PveClient, encode_params
from tests.backends.pve import PveBackend


def _client(pve: PveBackend, *, timeout: float = 30.0, **config: Any) -> PveClient:
    return PveClient(ProviderConfig.model_validate({**pve.provider_config(), **config}), timeout=timeout)


def _ticket_client(pve: PveBackend, monkeypatch: pytest.MonkeyPatch) -> PveClient:
    monkeypatch.setenv("HOMEPORT_TEST_PVE_USER", "root@pam")
    monkeypatch.setenv("HOMEPORT_TEST_PVE_PASSWORD", pve.root_password)
    return _client(pve, credentials={"username_env": "HOMEPORT_TEST_PVE_USER",
                                     "password_env": "HOMEPORT_TEST_PVE_PASSWORD"})


def _logins(pve: PveBackend, start: int) -> int:
    return sum(1 for method, path in pve.requests_since(start) if method == "POST" and path.endswith("/access/ticket"))


@pytest.mark.parametrize(("params", "encoded"), [
    ({}, ""),
    ({"vmid": 101, "name": "web"}, "vmid=101&name=web"),
    ({"full": True, "start": False}, "full=1&start=0"),
    ({"description": None, "cores": 2}, "cores=2"),
    ({"delete": ["ide2", "net1"]}, "delete=ide2&delete=net1"),
    ({"ipconfig0": "ip=10.0.0.5/24,gw=10.0.0.1", "sshkeys": "ssh-ed25519 AAAA x@y"},
     "ipconfig0=ip%3D10.0.0.5%2F24%2Cgw%3D10.0.0.1&sshkeys=ssh-ed25519+AAAA+x%40y"),
])
def test_parameters_are_encoded_as_pve_reads_them(params: dict[str, Any], encoded: str) -> None:
    assert encode_params(params) == encoded


def test_calls_share_one_kept_connection(pve: PveBackend) -> None:
    client = _client(pve)
    try:
        listings = [client.get("cluster/resources", type="vm") for _ in range(5)]
        assert client.connections_opened == 1 and client.calls == 5
        assert {g["vmid"] for g in listings[0]} >= {150, 151, 9000} and all(x == listings[0] for x in listings)
        with pytest.raises(PermanentProviderError, match=r"GET /nodes/pve1/qemu/150/config: 500 .*150\.conf"):
            client.get("nodes/pve1/qemu/150/config")  # vmid 150 lives on pve2
        assert client.connections_opened == 1  # an API error keeps the connection
    finally:
        client.close()


def test_a_connection_pve_closed_while_idle_is_replaced(pve: PveBackend) -> None:
    client = _client(pve)
    try:
        client.get("version")
        pool = client._connections()
        idle = pool._idle[0]
        assert idle.sock is not None
        idle.sock.shutdown(socket.SHUT_WR)  # the server answers our EOF by closing its end
        assert select.select([idle.sock], [], [], 5)[0], "the server did not close the connection"
        assert "version" in client.get("version")
        assert client.connections_opened == 2
    finally:
        client.close()


def test_dropped_and_hung_requests_are_transient_and_the_client_recovers(pve: PveBackend) -> None:
    client = _client(pve, timeout=0.5)
    try:
        client.get("version")
        pve.pve.flaky_network(drop_rate=1.0)
        with pytest.raises(TransientProviderError, match=r"GET /version: cannot reach 127\.0\.0\.1:\d+"):
            client.get("version")
        pve.pve.flaky_network(hang_rate=1.0, hang_secs=3)
        with pytest.raises(TransientProviderError, match=r"GET /version: no answer from 127\.0\.0\.1:\d+ in time"):
            client.get("version")
        pve.pve.flaky_network()
        assert "version" in client.get("version")
    finally:
        pve.pve.flaky_network()
        client.close()


def test_a_proxy_page_instead_of_json_is_an_error_naming_the_status(pve: PveBackend) -> None:
    pve.pve.fail("GET", "/cluster/resources", 502, "Bad Gateway", html=True, times=1)
    client = _client(pve)
    try:
        with pytest.raises(TransientProviderError, match=r"GET /cluster/resources: 502 "):
            client.get("cluster/resources")
        assert client.get("cluster/resources")
    finally:
        client.close()


def test_ticket_is_kept_renewed_when_old_and_again_when_pve_forgot_it(
    pve: PveBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _ticket_client(pve, monkeypatch)
    try:
        start = len(pve.pve.requests)
        for _ in range(3):
            client.get("cluster/resources", type="node")
        client.post("nodes/pve2/qemu/150/config", description="kept")  # a write carries the CSRF token
        assert _logins(pve, start) == 1
        pve.pve.tickets.clear()  # PVE restarted with a new key
        assert client.get("version")
        assert _logins(pve, start) == 2
        monkeypatch.setattr(client_module, "TICKET_RENEW_AFTER", 0.0)
        client.get("version")
        assert _logins(pve, start) == 3
    finally:
        client.close()


def test_threads_each_get_a_connection_and_the_same_answer(pve: PveBackend) -> None:
    client = _client(pve)
    answers: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                answers.append(client.get("cluster/resources", type="vm"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors and len(answers) == 30 and all(a == answers[0] for a in answers)
        assert 1 <= client.connections_opened <= 6
    finally:
        client.close()


def test_no_answer_is_ever_logged_with_its_secret(pve: PveBackend, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="reconciler.providers.proxmox.client")
    client = _client(pve)
    try:
        client.post("nodes/pve1/qemu/9000/config", description="secret-notes")
        assert "POST /nodes/pve1/qemu/9000/config -> 200" in caplog.text
        assert pve.token_secret not in caplog.text and "secret-notes" not in caplog.text
    finally:
        client.close()
