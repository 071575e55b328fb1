#!/usr/bin/env python3
"""Regenerate reconciler/render/validators/data/azure_vm_sizes.txt from azure-mgmt-compute's
VirtualMachineSizeTypes (the render layer may not import the Azure SDK; a test checks the copy)."""

from __future__ import annotations

from pathlib import Path

from azure.mgmt.compute.models import VirtualMachineSizeTypes

TARGET = Path(__file__).resolve().parents[1] / "reconciler/render/validators/data/azure_vm_sizes.txt"


def main() -> None:
    """Write one size per line, sorted, under a header naming the SDK version."""
    from importlib.metadata import version

    sizes = sorted({size.value for size in VirtualMachineSizeTypes})
    sdk = version("azure-mgmt-compute")
    header = f"# VirtualMachineSizeTypes of azure-mgmt-compute {sdk}; regenerate: scripts/update-azure-vm-sizes.py\n"
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(header + "".join(f"{s}\n" for s in sizes), encoding="utf-8")
    print(f"{TARGET}: {len(sizes)} sizes")


if __name__ == "__main__":
    main()
