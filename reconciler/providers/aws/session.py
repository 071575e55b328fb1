"""boto3 sessions and clients for one provider instance: standard credential chain or a named profile."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.secrets import read_secret

# Adaptive retries absorb short throttling bursts; what is left is mapped to TransientProviderError.
_BOTO_CONFIG = botocore.config.Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=10,
    read_timeout=60,
    user_agent_extra="homeport",
)


def build_session(config: ProviderConfig) -> boto3.session.Session:
    """A boto3 session: keys from named environment variables, else the profile, else the default chain."""
    creds = config.credentials
    access_key = read_secret(env=creds.access_key_env, what="aws access key") if creds.access_key_env else None
    secret_key = read_secret(env=creds.secret_key_env, what="aws secret key") if creds.secret_key_env else None
    if bool(access_key) != bool(secret_key):
        raise PermanentProviderError(
            "aws credentials: set both credentials.access_key_env and credentials.secret_key_env, or neither"
        )
    try:
        if access_key and secret_key:
            return boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key)
        return boto3.session.Session(profile_name=config.profile) if config.profile else boto3.session.Session()
    except botocore.exceptions.ProfileNotFound as exc:
        raise PermanentProviderError(
            f"aws profile {config.profile!r} is not in ~/.aws/config or ~/.aws/credentials: "
            "create it (aws configure --profile NAME) or change `profile:` in homeport.yaml"
        ) from exc


@dataclass
class AwsClients:
    """Clients per (service, region), created on first use and counted for benchmarks."""

    config: ProviderConfig
    session: boto3.session.Session | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    # boto3 sessions are not thread-safe while creating clients; the clients themselves are.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, region: str) -> Any:
        """The boto3 client for service in region (cached); every API call is recorded in `calls`."""
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                if self.session is None:
                    self.session = build_session(self.config)
                client = self.session.client(
                    service, region_name=region, endpoint_url=self.config.endpoint or None, config=_BOTO_CONFIG
                )
                client.meta.events.register("before-call", self._count)
                self._clients[key] = client
            return self._clients[key]

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.service_name}:{model.name}")

    def close(self) -> None:
        """Close every client's connection pool."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
