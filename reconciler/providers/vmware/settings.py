"""The VMware provider's settings, read from its `ProviderConfig` (homeport.yaml) with clear errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.secrets import read_secret

EXECUTORS = ("pyvmomi", "terraform")


class VmwareOptions(BaseModel):
    """What `options:` accepts (checked one by one in load_settings, with messages naming the option)."""

    datacenter: str | None = Field(default=None, description="Datacenter to use when vCenter has several")
    task_timeout: float = Field(default=600.0, description="Seconds a vSphere task may run")
    connect_timeout: float = Field(default=30.0, description="Seconds to wait for vCenter/ESXi to answer")
    page_size: int = Field(default=500, description="Objects per property-collector page")
    allow_power_cycle: bool = Field(default=True, description="May power a VM off and on for a change it needs")
    full_refresh_every: int = Field(default=12, description="Cycles between full re-reads of every VM")
    terraform_binary: str = Field(default="terraform", description="terraform executor: the binary")
    terraform_timeout: float = Field(default=1800.0, description="terraform executor: seconds per apply")


KNOWN_OPTIONS = set(VmwareOptions.model_fields)
OPTIONS_MODEL = VmwareOptions  # docs/providers/vmware.md is generated from it


class VmwareSettings(BaseModel):
    """Where vCenter/ESXi is, how to trust it and log in, and the provider's policies."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    path: str
    username: str
    password: str = Field(repr=False)
    ca_file: str | None
    verify_tls: bool
    datacenter: str | None
    task_timeout: float
    connect_timeout: float
    page_size: int
    allow_power_cycle: bool
    full_refresh_every: int
    executor: str = "pyvmomi"
    terraform_binary: str = "terraform"
    terraform_timeout: float = 1800.0

    def __repr__(self) -> str:
        # The password never appears in reprs, logs or error messages.
        return f"VmwareSettings(host={self.host!r}, port={self.port}, username={self.username!r})"


def _option(options: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = options.get(key, default)
    if kind is bool and not isinstance(value, bool):
        raise PermanentProviderError(f"vmware option {key!r} must be true or false, not {value!r}")
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
        raise PermanentProviderError(f"vmware option {key!r} must be a positive number, not {value!r}")
    if kind is str and value is not None and not isinstance(value, str):
        raise PermanentProviderError(f"vmware option {key!r} must be text, not {value!r}")
    return kind(value) if value is not None else None


def load_settings(config: ProviderConfig, provider_name: str) -> VmwareSettings:
    """Settings from config; a PermanentProviderError naming the field and the fix when one is wrong."""
    where = f"providers.{provider_name}"
    if not config.endpoint:
        raise PermanentProviderError(
            f"{where}.endpoint is not set: give the vCenter or ESXi address, e.g. https://vcenter.lan/sdk"
        )
    raw = config.endpoint if "://" in config.endpoint else f"https://{config.endpoint}"
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname:
        raise PermanentProviderError(
            f"{where}.endpoint {config.endpoint!r} is not an https URL: write e.g. https://vcenter.lan/sdk"
        )
    try:
        port = parts.port or 443
    except ValueError as exc:
        raise PermanentProviderError(f"{where}.endpoint {config.endpoint!r} has a bad port") from exc
    executor = config.executor or "pyvmomi"
    if executor not in EXECUTORS:
        raise PermanentProviderError(
            f"{where}.executor {executor!r} is unknown for vmware: use one of {', '.join(EXECUTORS)}"
        )
    if "username" in config.options:
        raise PermanentProviderError(
            f"{where}.options.username: the user name belongs in credentials: credentials.username (or username_env)"
        )
    unknown = sorted(set(config.options) - KNOWN_OPTIONS)
    if unknown:
        raise PermanentProviderError(
            f"{where}.options has unknown keys {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_OPTIONS))}"
        )
    creds = config.credentials
    username = creds.username or read_secret(env=creds.username_env, what=f"{where}.credentials.username_env")
    if not username:
        raise PermanentProviderError(f"{where}: no user name; set credentials.username or credentials.username_env")
    password = read_secret(env=creds.password_env, file=creds.password_file, what=f"{where}.credentials.password")
    if not password:
        raise PermanentProviderError(f"{where}: no password; set credentials.password_env or credentials.password_file")
    return VmwareSettings(
        host=parts.hostname,
        port=port,
        path=parts.path if parts.path not in ("", "/") else "/sdk",
        username=username,
        password=password,
        ca_file=config.ca_file,
        verify_tls=config.verify_tls,
        datacenter=_option(config.options, "datacenter", str, None),
        task_timeout=_option(config.options, "task_timeout", float, 600.0),
        connect_timeout=_option(config.options, "connect_timeout", float, 30.0),
        page_size=int(_option(config.options, "page_size", int, 500)),
        allow_power_cycle=_option(config.options, "allow_power_cycle", bool, True),
        full_refresh_every=int(_option(config.options, "full_refresh_every", int, 12)),
        executor=executor,
        terraform_binary=_option(config.options, "terraform_binary", str, "terraform"),
        terraform_timeout=_option(config.options, "terraform_timeout", float, 1800.0),
    )
