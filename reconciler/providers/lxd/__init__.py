"""LXD provider: system containers and virtual machines through pylxd (local socket or HTTPS)."""

from reconciler.providers.lxd.provider import PROVIDER_CLASS, LxdProvider

__all__ = ["PROVIDER_CLASS", "LxdProvider"]
