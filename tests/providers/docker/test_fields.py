"""Pure tests: the field vocabulary, parsing of raw engine output (cases/), settings and overrides."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.lab import Credentials, ProviderConfig
from reconciler.models.resource import Port
from reconciler.providers.docker.apply import override_document, write_artifacts
from reconciler.providers.docker.compose import compose_binary, failure_message
from reconciler.providers.docker.facts import (
    detail_fields,
    health_from_status,
    merge_containers,
    resource_status,
    summary_fields,
    summary_fingerprint,
)
from reconciler.providers.docker.fields import desired_fields
from reconciler.providers.docker.settings import docker_settings
from reconciler.providers.errors import PermanentProviderError
from tests.providers.docker.conftest import web_resource

CASES = Path(__file__).parent / "cases"


def case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CASES / f"{name}.json").read_text())
    return data


def test_listing_summary_fields_from_a_real_engine() -> None:
    raw = case("compose_web")
    assert summary_fields(raw["summary"]) == {
        "image": "homeport-test/busybox:1",
        "status": "running",
        "health": "healthy",
        "network_mode": "host",
        "volumes": [{"name": "data", "path": "/data"}],
        "ports": [],
    }


def test_inspect_fields_mask_secret_values() -> None:
    raw = case("compose_web")
    fields = detail_fields(raw["inspect"])
    assert fields == {
        "command": ["httpd", "-f", "-p", "127.0.0.1:18555", "-h", "/www"],
        "env": {"API_TOKEN": "(secret)", "GREETING": "hello"},
        "restart": "unless-stopped",
        "cpus": 1.0,
        "memory_mb": 256,
        "gpu_requests": {"name": "", "count": 0, "ids": []},  # counted against the engine's GPUs, not a field
    }
    assert "not-a-real-secret" not in json.dumps(fields)


def test_desired_fields_match_what_the_engine_reports() -> None:
    resource = web_resource("web", 18555, node="rec", secret_env={"API_TOKEN": "HP_TEST_TOKEN"})
    raw = case("compose_web")
    observed = merge_containers([summary_fields(raw["summary"]) | detail_fields(raw["inspect"])])
    desired = desired_fields(resource)
    assert desired == {
        "replicas": 1,
        "restart": "unless-stopped",
        "image": "homeport-test/busybox:1",
        "status": "running",
        "health": "healthy",
        "command": ["httpd", "-f", "-p", "127.0.0.1:18555", "-h", "/www"],
        "env": {"GREETING": "hello"},
        "volumes": [{"name": "data", "path": "/data"}],
        "network_mode": "host",
        "cpus": 1.0,
        "memory_mb": 256,
    }
    for key, want in desired.items():
        have = observed[key]
        if isinstance(want, dict):
            have = {k: have[k] for k in want}
        assert have == want, key


def test_ports_are_keyed_and_only_wanted_off_the_host_network() -> None:
    resource = web_resource("web", 8080)
    resource.service.ports = [Port(name="http", port=8080, target=80), Port(name="dns", port=53, protocol="udp")]
    assert "ports" not in desired_fields(resource)
    resource.overrides = {"network_mode": None}
    assert desired_fields(resource)["ports"] == [
        {"published": "8080/tcp", "target": 80},
        {"published": "53/udp", "target": 53},
    ]
    listing = {
        "Ports": [
            {"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp", "IP": "0.0.0.0"},
            {"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp", "IP": "::"},
            {"PrivatePort": 9000, "Type": "tcp"},
        ]
    }
    assert summary_fields(listing)["ports"] == [{"published": "8080/tcp", "target": 80}]


@pytest.mark.parametrize(
    ("status", "health"),
    [
        ("Up 3 minutes (healthy)", "healthy"),
        ("Up 2 seconds (health: starting)", "starting"),
        ("Up About an hour (unhealthy)", "unhealthy"),
        ("Up 5 minutes", "none"),
        ("Exited (0) 3 seconds ago", "none"),
    ],
)
def test_health_from_listing_status(status: str, health: str) -> None:
    assert health_from_status(status) == health


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"replicas": 1, "status": "running", "health": "healthy"}, "running"),
        ({"replicas": 1, "status": "running", "health": "none"}, "running"),
        ({"replicas": 1, "status": "running", "health": "unhealthy"}, "unhealthy"),
        ({"replicas": 1, "status": "exited", "health": "none"}, "stopped"),
        ({"replicas": 1, "status": "paused"}, "paused"),
        ({"replicas": 0}, "absent"),
    ],
)
def test_resource_status(fields: dict[str, Any], status: str) -> None:
    assert resource_status(fields) == status


def test_merge_reports_the_odd_container_out() -> None:
    merged = merge_containers(
        [
            {"status": "running", "env": {"A": "1"}},
            {"status": "exited", "env": {"A": "1"}},
            {"status": "running", "env": {"A": "1"}},
        ]
    )
    assert merged == {"replicas": 3, "status": "exited", "env": {"A": "1"}}


def test_fingerprint_ignores_uptime_but_not_state() -> None:
    summary = case("compose_web")["summary"]
    later = summary | {"Status": "Up 3 hours (healthy)"}
    stopped = summary | {"State": "exited", "Status": "Exited (137) 1 second ago"}
    assert summary_fingerprint(later) == summary_fingerprint(summary)
    assert summary_fingerprint(stopped) != summary_fingerprint(summary)


def config(**kwargs: Any) -> ProviderConfig:
    return ProviderConfig(type="docker", **kwargs)


def test_settings_engines_per_node() -> None:
    settings = docker_settings(
        "hosts",
        config(
            nodes=["nas", "pi"],
            options={"engines": {"nas": "ssh://admin@nas.lan", "pi": "unix:///var/run/docker.sock"}},
        ),
    )
    assert {n: (e.endpoint, e.scheme) for n, e in settings.engines.items()} == {
        "nas": ("ssh://admin@nas.lan", "ssh"),
        "pi": ("unix:///var/run/docker.sock", "unix"),
    }
    single = docker_settings("nas", config(endpoint="ssh://admin@nas.lan:2222"))
    assert list(single.engines) == ["nas"] and single.engines["nas"].display() == "ssh://admin@nas.lan:2222"
    tls = docker_settings(
        "edge",
        config(
            options={
                "engines": {
                    "edge": {
                        "endpoint": "tcp://10.0.0.5:2376",
                        "tls": {"ca_file": "/etc/ca.pem", "cert_file": "/etc/c.pem", "key_file": "/etc/k.pem"},
                    }
                }
            }
        ),
    )
    assert tls.engines["edge"].tls is not None and tls.engines["edge"].tls.key_file == "/etc/k.pem"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no engine: set endpoint, or options.engines with one endpoint per node"),
        ({"endpoint": "http://nas:2375"}, "must start with unix://, ssh://, tcp://, npipe://"),
        ({"endpoint": "ssh://admin:hunter2@nas"}, "do not put a password in the endpoint"),
        ({"nodes": ["a", "b"], "options": {"engines": {"a": "unix:///x.sock"}}}, "nodes b have no endpoint"),
        ({"endpoint": "unix:///x.sock", "options": {"engines": {"a": "unix:///y.sock"}}}, "not both"),
        ({"endpoint": "unix:///x.sock", "options": {"wait_timout": 5}}, "unknown options wait_timout"),
        ({"endpoint": "unix:///x.sock", "options": {"wait_timeout": "soon"}}, "options.wait_timeout must be"),
        (
            {"options": {"engines": {"e": {"endpoint": "tcp://h:2376", "tls": {"cert_file": "/c.pem"}}}}},
            "tls.cert_file and tls.key_file go together",
        ),
        ({"endpoint": "ssh://nas", "credentials": Credentials(ssh_key_file="~/.ssh/id")}, "IdentityFile"),
    ],
)
def test_settings_errors_say_what_to_fix(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(PermanentProviderError) as err:
        docker_settings("hosts", config(**kwargs))
    assert message in str(err.value)
    assert "hunter2" not in str(err.value)


def test_override_labels_services_and_own_volumes_only() -> None:
    compose = {"services": {"web": {}}, "volumes": {"data": {}, "shared": {"external": True}}}
    labels = {
        "homeport.managed-by": "homeport",
        "homeport.lab": "lab1",
        "homeport.resource": "web",
        "homeport.remove-volumes": "true",
    }
    doc = override_document(compose, labels)
    assert doc["services"] == {"web": {"labels": labels}}
    assert doc["volumes"] == {
        "data": {"labels": {"homeport.managed-by": "homeport", "homeport.lab": "lab1", "homeport.resource": "web"}}
    }
    with pytest.raises(PermanentProviderError, match="declares no services"):
        override_document({"services": {}}, labels)


def test_rendered_files_stay_inside_the_project_directory(tmp_path: Path) -> None:
    for bad in ("../escape.yaml", "/etc/passwd"):
        with pytest.raises(PermanentProviderError, match="must be a relative path"):
            write_artifacts(tmp_path, {bad: "x"})
    write_artifacts(tmp_path, {"compose.yaml": "services: {}\n", ".env": "A=1\n"})
    assert (tmp_path / ".env").read_text() == "A=1\n"


def test_compose_binary_comes_from_the_package_not_path() -> None:
    binary = compose_binary()
    assert binary.name == "docker-compose"
    done = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=True, env={})
    assert done.stdout.startswith("Docker Compose version v")


def test_compose_failure_message_drops_progress_lines() -> None:
    stderr = (
        " Container lab1-sick  Creating\n Container lab1-sick  Created\n Container lab1-sick  Starting\n"
        " Container lab1-sick  Started\n Container lab1-sick  Waiting\ncontainer lab1-sick is unhealthy\n"
    )
    assert failure_message(stderr) == "container lab1-sick is unhealthy"
    assert failure_message(" Container x  Created\n") == "Container x  Created"
    assert failure_message("") == ""
