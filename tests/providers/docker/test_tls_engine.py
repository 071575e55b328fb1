"""An engine on tcp:// with mutual TLS (dockerd --tlsverify on 127.0.0.1), certificates made for the test."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.models.plan import Change, Op
from reconciler.providers.base import ProviderContext
from reconciler.providers.docker import DockerProvider
from reconciler.providers.errors import TransientProviderError
from reconciler.store.provider_state import DbProviderState
from tests.backends.dockerd import DockerEngine, DockerUnavailable, free_port, running_engines
from tests.providers.docker.conftest import LAB, render, web_resource
from tests.providers.docker.test_converge import http_get

pytestmark = pytest.mark.slow  # a real dockerd engine


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> None:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    directory.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=homeport test CA",
        cwd=directory,
    )
    for name, usage, extra in (("server", "serverAuth", "subjectAltName=IP:127.0.0.1\n"), ("client", "clientAuth", "")):
        (directory / f"{name}.ext").write_text(f"extendedKeyUsage={usage}\n{extra}")
        _openssl(
            "req",
            *ec,
            "-keyout",
            f"{name}-key.pem",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN=homeport-{name}",
            cwd=directory,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=directory,
        )


@pytest.fixture
def tls_engine(tmp_path: Path) -> Iterator[tuple[DockerEngine, str, Path]]:
    """An engine answering on tcp://127.0.0.1:<port> only to clients with a certificate from the test CA."""
    certs = tmp_path / "certs"
    make_certificates(certs)
    port = free_port()
    args = [
        "--host",
        f"tcp://127.0.0.1:{port}",
        "--tlsverify",
        "--tlscacert",
        str(certs / "ca.pem"),
        "--tlscert",
        str(certs / "server.pem"),
        "--tlskey",
        str(certs / "server-key.pem"),
    ]
    try:
        with running_engines(["edge"], extra_args={"edge": args}) as engines:
            yield engines["edge"], f"tcp://127.0.0.1:{port}", certs
    except DockerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def provider_for(endpoint: str, tls: dict[str, str], state_db: Any, work: Path) -> DockerProvider:
    config = ProviderConfig(
        type="docker",
        nodes=["edge"],
        options={"engines": {"edge": {"endpoint": endpoint, "tls": tls}}, "wait_timeout": 60},
    )
    ctx = ProviderContext(
        lab=LAB, name="docker", config=config, state=DbProviderState(state_db, LAB, "docker"), work_dir=work
    )
    return DockerProvider(ctx)


def test_engine_over_tcp_with_mutual_tls(
    tls_engine: tuple[DockerEngine, str, Path], state_db: Any, tmp_path: Path
) -> None:
    _, endpoint, certs = tls_engine
    tls = {
        "ca_file": str(certs / "ca.pem"),
        "cert_file": str(certs / "client.pem"),
        "key_file": str(certs / "client-key.pem"),
    }
    provider = provider_for(endpoint, tls, state_db, tmp_path / "work")
    try:
        inventory = provider.observe()
        assert inventory.errors == []
        assert [(n.name, n.status) for n in inventory.nodes] == [("edge", "online")]

        web = web_resource("over-tls", free_port(), node="edge")
        change = Change(
            op=Op.create, resource=web.name, provider="docker", provider_type="docker", node="edge", reason="test"
        )
        result = provider.apply(change, web, render(web))
        assert result.node == "edge" and "1 healthy" in result.message
        assert http_get(web.service.healthcheck.port)  # type: ignore[union-attr]
        assert provider.observe().owned(LAB)["over-tls"].status == "running"
        gone = provider.apply(
            Change(
                op=Op.delete, resource=web.name, provider="docker", provider_type="docker", node="edge", reason="test"
            ),
            None,
            None,
        )
        assert "named volumes kept" in gone.message
    finally:
        provider.close()


def test_engine_refuses_a_client_without_certificate(
    tls_engine: tuple[DockerEngine, str, Path], state_db: Any, tmp_path: Path
) -> None:
    _, endpoint, certs = tls_engine
    provider = provider_for(endpoint, {"ca_file": str(certs / "ca.pem")}, state_db, tmp_path / "work")
    try:
        with pytest.raises(TransientProviderError) as refused:
            provider.observe()
        assert str(refused.value).startswith(f"engine edge ({endpoint}): ")
    finally:
        provider.close()
    missing = provider_for(endpoint, {"ca_file": str(certs / "nope.pem")}, state_db, tmp_path / "work")
    try:
        with pytest.raises(TransientProviderError) as no_file:
            missing.observe()
        assert str(no_file.value) == f"engine edge: TLS file {certs / 'nope.pem'} does not exist"
    finally:
        missing.close()
