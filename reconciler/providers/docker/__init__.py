"""The docker provider: Compose projects on Docker engines (see docs/providers/docker.md)."""

from reconciler.providers.docker.provider import PROVIDER_CLASS, DockerProvider

__all__ = ["PROVIDER_CLASS", "DockerProvider"]
