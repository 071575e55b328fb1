"""VMware vSphere provider (vCenter or ESXi) through pyVmomi."""

from reconciler.providers.vmware.provider import PROVIDER_CLASS, VmwareProvider

__all__ = ["PROVIDER_CLASS", "VmwareProvider"]
