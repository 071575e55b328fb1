"""The kubernetes provider: server-side apply with the official client (extra: homeport[kubernetes])."""

from reconciler.providers.kubernetes.provider import PROVIDER_CLASS, KubernetesProvider

__all__ = ["PROVIDER_CLASS", "KubernetesProvider"]
