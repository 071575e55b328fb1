"""The LXD provider's settings: where the daemon is, how to trust it, and its policies (homeport.yaml)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.models.lab import ProviderConfig, duration_seconds
from reconciler.providers.errors import PermanentProviderError

LOCAL_SOCKETS = ("/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket")


class LxdOptions(BaseModel):
    """`options:` of an lxd provider in homeport.yaml (every key optional)."""

    model_config = ConfigDict(extra="forbid")

    project: str = Field(default="default", description="LXD project the instances live in")
    client_cert_file: str | None = Field(default=None, description="HTTPS: the trusted client certificate (PEM)")
    client_key_file: str | None = Field(default=None, description="HTTPS: its private key (PEM)")
    operation_timeout: float | str = Field(default="5m", description="Deadline for one LXD operation")
    http_timeout: float | str = Field(default="30s", description="Deadline for one HTTP request")
    stop_timeout: float | str = Field(default="30s", description="Clean stop before a forced one")
    resources_refresh: float | str = Field(default="1h", description="How long host hardware facts are reused")
    address_timeout: float | str = Field(default="60s", description="Wait for an instance address to configure")
    observe_recursion: Literal[1, 2] = Field(
        default=1,
        description="1: config, devices and status (fast); 2: also each instance's state and addresses (slow: "
        "LXD gathers every running instance's state)",
    )
    ssh_user: str = Field(default="root", description="The user the configure step logs in as")
    ssh_public_key_file: str | None = Field(default=None, description="Pushed to authorized_keys; default <key>.pub")
    ansible_roles_paths: list[str] = Field(default_factory=list, description="Extra role folders for playbooks")


class LxdSettings(BaseModel):
    """Resolved settings: an endpoint (unix socket or https URL) and timeouts in seconds."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["unix", "https"]
    endpoint: str = Field(description="Socket path or https URL as pylxd takes it")
    project: str
    client_cert_file: str | None = None
    client_key_file: str | None = None
    verify: bool | str = True
    operation_timeout: float
    http_timeout: float
    stop_timeout: float
    resources_refresh: float
    address_timeout: float
    observe_recursion: int = 1
    ssh_user: str
    ssh_key_file: str | None = None
    ssh_public_key_file: str | None = None
    ansible_roles_paths: tuple[str, ...] = ()
    node_name: str | None = Field(default=None, description="What the lab calls a standalone host (nodes[0])")


def _seconds(where: str, key: str, value: float | str) -> float:
    try:
        seconds = float(value) if isinstance(value, int | float) else float(duration_seconds(str(value)))
    except ValueError as exc:
        raise PermanentProviderError(f"{where}.options.{key}: {exc}") from exc
    if seconds <= 0:
        raise PermanentProviderError(f"{where}.options.{key} must be more than 0, not {value!r}")
    return seconds


def local_socket() -> str:
    """The local daemon's socket: $LXD_DIR/unix.socket, else the snap's, else Debian's."""
    if os.environ.get("LXD_DIR"):
        return str(Path(os.environ["LXD_DIR"]) / "unix.socket")
    return next((p for p in LOCAL_SOCKETS if Path(p).exists()), LOCAL_SOCKETS[-1])


def _readable(where: str, field: str, path: str | None) -> str | None:
    if path is None:
        return None
    full = Path(path).expanduser()
    if not full.is_file():
        raise PermanentProviderError(f"{where}.{field}: {full} does not exist or is not a file")
    return str(full)


def load_settings(config: ProviderConfig, provider_name: str) -> LxdSettings:
    """Settings from config; a PermanentProviderError naming the field and the fix when one is wrong."""
    where = f"providers.{provider_name}"
    try:
        opts = LxdOptions.model_validate(dict(config.options))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        known = ", ".join(sorted(LxdOptions.model_fields))
        raise PermanentProviderError(f"{where}.options.{field}: {first['msg']} (known options: {known})") from exc
    endpoint = (config.endpoint or "").strip()
    extra: dict[str, Any] = {}
    if endpoint.startswith("https://"):
        if not (opts.client_cert_file and opts.client_key_file):
            raise PermanentProviderError(
                f"{where}: an https endpoint needs a trusted client certificate: set options.client_cert_file and "
                "options.client_key_file (add the certificate on the server: lxc config trust add <file>)"
            )
        extra["kind"] = "https"
        extra["endpoint"] = endpoint.rstrip("/")
        extra["client_cert_file"] = _readable(where, "options.client_cert_file", opts.client_cert_file)
        extra["client_key_file"] = _readable(where, "options.client_key_file", opts.client_key_file)
        extra["verify"] = _readable(where, "ca_file", config.ca_file) or config.verify_tls
    elif endpoint in ("", "local") or endpoint.startswith(("unix://", "/")):
        path = endpoint.removeprefix("unix://") if endpoint not in ("", "local") else local_socket()
        extra["kind"] = "unix"
        extra["endpoint"] = path
    else:
        raise PermanentProviderError(
            f"{where}.endpoint {endpoint!r}: write unix:///path/to/unix.socket (or leave it out for the local "
            "daemon) or https://host:8443 for a remote LXD"
        )
    key_file = config.credentials.ssh_key_file
    return LxdSettings(
        **extra,
        project=opts.project,
        operation_timeout=_seconds(where, "operation_timeout", opts.operation_timeout),
        http_timeout=_seconds(where, "http_timeout", opts.http_timeout),
        stop_timeout=_seconds(where, "stop_timeout", opts.stop_timeout),
        resources_refresh=_seconds(where, "resources_refresh", opts.resources_refresh),
        address_timeout=_seconds(where, "address_timeout", opts.address_timeout),
        observe_recursion=opts.observe_recursion,
        ssh_user=opts.ssh_user,
        ssh_key_file=str(Path(key_file).expanduser()) if key_file else None,
        ssh_public_key_file=opts.ssh_public_key_file or (f"{key_file}.pub" if key_file else None),
        ansible_roles_paths=tuple(opts.ansible_roles_paths),
        node_name=config.nodes[0] if len(config.nodes) == 1 else None,
    )


OPTIONS_MODEL = LxdOptions  # what `options:` in homeport.yaml accepts (docs/providers/*.md are generated from it)
