"""Provider types -> classes, imported lazily so each SDK stays an optional extra."""

from __future__ import annotations

import importlib

from reconciler.providers.base import Provider, ProviderContext
from reconciler.providers.errors import ProviderUnavailableError

PROVIDER_MODULES: dict[str, tuple[str, str]] = {
    "sim": ("reconciler.providers.sim", ""),
    "proxmox": ("reconciler.providers.proxmox", "proxmox"),
    "docker": ("reconciler.providers.docker", "docker"),
    "lxd": ("reconciler.providers.lxd", "lxd"),
    "kubernetes": ("reconciler.providers.kubernetes", "kubernetes"),
    "vmware": ("reconciler.providers.vmware", "vmware"),
    "aws": ("reconciler.providers.aws", "aws"),
    "azure": ("reconciler.providers.azure", "azure"),
}


def provider_class(provider_type: str) -> type[Provider]:
    """The class for a provider type; a clear error when unknown or its extra is missing."""
    if provider_type not in PROVIDER_MODULES:
        raise ProviderUnavailableError(
            f"unknown provider type {provider_type!r}; known: {', '.join(sorted(PROVIDER_MODULES))}"
        )
    module_name, extra = PROVIDER_MODULES[provider_type]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            raise ProviderUnavailableError(f"provider {provider_type!r} is not built into this homeport yet") from exc
        hint = f"install it with: pip install 'homeport[{extra}]'" if extra else ""
        raise ProviderUnavailableError(f"provider {provider_type!r} needs {exc.name}: {hint}") from exc
    cls: type[Provider] = module.PROVIDER_CLASS
    return cls


def build_provider(ctx: ProviderContext) -> Provider:
    """Instantiate the provider a lab's config names."""
    return provider_class(ctx.config.type)(ctx)
