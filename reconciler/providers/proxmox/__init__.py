"""Proxmox VE provider (proxmoxer): observe a cluster, converge guests, preflight a plan."""

from reconciler.providers.proxmox.provider import PROVIDER_CLASS, ProxmoxProvider

__all__ = ["PROVIDER_CLASS", "ProxmoxProvider"]
