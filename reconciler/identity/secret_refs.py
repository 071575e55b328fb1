"""Credentials by reference, checked in one place: fields that should name a secret but seem to hold one.

homeport.yaml lives in Git, so every credential is a reference (an environment variable or a file). `homeport
validate` reports a field whose value looks like the secret itself; nothing here ever prints the value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel

from reconciler.identity.errors import ConfigurationError
from reconciler.models.identity import OidcConfig
from reconciler.models.lab import Lab

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME = re.compile(r"(secret|password|passwd|token|api[_-]?key|private[_-]?key|credential)", re.IGNORECASE)
# Shapes of well-known secrets: cloud keys, forge tokens, Proxmox API tokens, JWTs, PEM keys.
KNOWN_SECRETS = re.compile(
    r"(AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|PVEAPIToken=|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----|sk-[A-Za-z0-9]{20,})"
)
SECRET_QUERY_KEYS = {"token", "access_token", "key", "apikey", "api_key", "secret", "password", "auth"}


class SecretWarning(BaseModel):
    """A field of homeport.yaml that seems to hold a secret value instead of naming where it is kept."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"homeport.yaml: {self.field}: {self.message}"


def looks_random(value: str) -> bool:
    """A long string mixing lower case and digits with no separators: more like a key than a name or path."""
    return (len(value) >= 20 and any(c.islower() for c in value) and any(c.isdigit() for c in value)
            and not any(c in value for c in "/._ "))


def looks_like_secret(value: str) -> bool:
    """Whether a string has the shape of a credential (a known token format, or a long random string)."""
    return bool(KNOWN_SECRETS.search(value)) or looks_random(value)


def _check_reference(path: str, key: str, value: str) -> SecretWarning | None:
    if key.endswith("_env"):
        if not ENV_NAME.match(value) or looks_like_secret(value):
            return SecretWarning(field=path, message="should name an environment variable, but its value looks like "
                                 "a secret: put the secret in the environment and write the variable's name here")
    elif key.endswith("_file") and ("\n" in value or (looks_like_secret(value) and "/" not in value)):
        return SecretWarning(field=path, message="should be a path to a secrets file, but its value looks like a "
                             "secret: write the secret into a file outside Git and give its path here")
    return None


def _check_url(path: str, value: str) -> SecretWarning | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.password:
        return SecretWarning(field=path, message="the URL carries a password: drop it from the URL and give the "
                             "credential by reference (an *_env or *_file field)")
    if any(k.lower() in SECRET_QUERY_KEYS and v for k, v in parse_qsl(parts.query)):
        return SecretWarning(field=path, message="the URL carries a credential in its query: use the matching "
                             "*_env field (e.g. url_env) instead")
    return None


def _walk(path: str, value: Any) -> Iterator[SecretWarning]:
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_defaults=True)
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if isinstance(item, str):
                found = _check_string(where, str(key), item)
                if found is not None:
                    yield found
            else:
                yield from _walk(where, item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                found = _check_string(f"{path}[{i}]", "", item)
                if found is not None:
                    yield found
            else:
                yield from _walk(f"{path}[{i}]", item)


def _check_string(path: str, key: str, value: str) -> SecretWarning | None:
    if not value:
        return None
    if key.endswith(("_env", "_file")):
        return _check_reference(path, key, value)
    if SECRET_NAME.search(key) and not key.endswith(("_id", "_url", "_name")):
        return SecretWarning(field=path, message=f"'{key}' holds a value in Git: use '{key}_env' (an environment "
                             f"variable) or '{key}_file' (a secrets file) instead")
    if "://" in value:
        found = _check_url(path, value)
        if found is not None:
            return found
    if KNOWN_SECRETS.search(value):
        return SecretWarning(field=path, message="the value has the shape of a credential (an API key or token): "
                             "keep it out of Git and pass it by reference")
    return None


def literal_secret_warnings(lab: Lab) -> list[SecretWarning]:
    """Every field of the Lab that seems to hold a secret value rather than a reference to one."""
    return list(_walk("spec", lab.spec))


def read_client_secret(config: OidcConfig) -> str | None:
    """The OIDC client secret from its environment variable or file (None when neither is configured)."""
    if config.client_secret_env:
        value = os.environ.get(config.client_secret_env)
        if value:
            return value
        if not config.client_secret_file:
            raise ConfigurationError(f"identity.oidc.client_secret_env: environment variable "
                                     f"{config.client_secret_env} is not set")
    if config.client_secret_file:
        path = Path(config.client_secret_file).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(f"identity.oidc.client_secret_file: cannot read {path}: {exc.strerror}") from exc
    return None
