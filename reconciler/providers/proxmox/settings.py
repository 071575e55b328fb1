"""The Proxmox provider's options (homeport.yaml `options:`) as a pydantic model, checked once with errors
naming the option."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reconciler.models.lab import ProviderConfig, duration_seconds
from reconciler.providers.errors import PermanentProviderError


def _seconds(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as 30s, 5m, 1h")
    if isinstance(value, int | float):
        return float(value)
    return float(duration_seconds(str(value)))


class ProxmoxSettings(BaseModel):
    """task_timeout (600s), task_poll (1s), detail_refresh (1h), gpu_refresh (1h), http_timeout (30s): seconds
    or durations such as 30s, 5m; ssh_public_key_file (default: credentials.ssh_key_file + .pub) for cloud-init;
    ci_user (homeport); ansible_roles_paths ([]; homeport's roles are always on the path)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_timeout: float = Field(default=600.0, gt=0,
        description='A PVE task still running after this many seconds (or 30s, 5m) is a transient error')
    task_poll: float = Field(default=1.0, gt=0, description='How often a running task is polled')
    detail_refresh: float = Field(default=3600.0, ge=0, description="Re-read every guest's config at least this often")
    gpu_refresh: float = Field(default=3600.0, ge=0, description='Cache of PCI listings and resource mappings')
    http_timeout: float = Field(default=30.0, gt=0, description='Deadline for one API request')
    ssh_public_key_file: str | None = Field(default=None,
        description='cloud-init sshkeys; default: credentials.ssh_key_file + .pub')
    ci_user: str = Field(default="homeport", description='cloud-init user, and the SSH user of the configure step')
    ansible_roles_paths: list[str] = Field(default_factory=list,
        description="More role folders (homeport's ansible/roles are always on the path)")

    @field_validator("task_timeout", "task_poll", "detail_refresh", "gpu_refresh", "http_timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return _seconds(value)

    def public_key(self, key_file: str | None) -> str | None:
        """The SSH public key cloud-init installs: ssh_public_key_file, else <ssh_key_file>.pub; None without."""
        path = self.ssh_public_key_file or (f"{key_file}.pub" if key_file else None)
        if not path:
            return None
        try:
            return Path(path).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PermanentProviderError(
                f"proxmox: cannot read the SSH public key {path} for cloud-init: {exc.strerror}; "
                "set options.ssh_public_key_file"
            ) from exc


def load_settings(config: ProviderConfig, name: str) -> ProxmoxSettings:
    """The provider's settings; a PermanentProviderError naming the option when one is wrong."""
    try:
        return ProxmoxSettings.model_validate(config.options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PermanentProviderError(f"proxmox provider {name}: options.{where}: {first['msg']}") from exc


OPTIONS_MODEL = ProxmoxSettings  # what `options:` in homeport.yaml accepts (docs/providers/*.md are generated from it)
