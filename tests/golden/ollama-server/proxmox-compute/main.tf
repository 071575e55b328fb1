# Rendered by homeport chart proxmox-compute 1.0.0 for lab home; do not edit.
# Resource ollama-server (llm-inference) in pool /infrastructure/on-premise/proxmox/compute/gpu-nodes.
terraform {
  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = ">= 0.66.0"
    }
  }
}

resource "proxmox_virtual_environment_vm" "ollama_server" {
  name        = "ollama-server"
  node_name   = "pve1"
  description = "Managed by homeport (lab home, resource ollama-server). Edits are reverted."
  tags        = ["homeport", "homeport-home"]
  on_boot     = true
  started     = true
  machine     = "q35"
  bios        = "ovmf"
  scsi_hardware   = "virtio-scsi-single"
  stop_on_destroy = true

  clone {
    vm_id = 9000
    full  = true
  }

  agent {
    enabled = true
    trim    = true
  }

  cpu {
    cores   = 4
    sockets = 1
    type    = "host"
  }

  memory {
    dedicated = 8192
  }

  efi_disk {
    datastore_id = "local-lvm"
    type         = "4m"
  }

  disk {
    datastore_id = "local-lvm"
    interface    = "scsi0"
    size         = 100
    discard      = "on"
    iothread     = true
    ssd          = true
  }

  network_device {
    bridge = "vmbr0"
    model  = "virtio"
  }

  operating_system {
    type = "l26"
  }

  initialization {
    datastore_id = "local-lvm"
    ip_config {
      ipv4 {
        address = "192.168.1.50/24"
        gateway = "192.168.1.1"
      }
    }
    user_account {
      username = "homeport"
      keys     = []
    }
  }

  hostpci {
    device = "hostpci0"
    mapping = "gpu"
    pcie   = true
    rombar = true
    xvga   = false
  }
}

output "vm_id" {
  value = proxmox_virtual_environment_vm.ollama_server.vm_id
}

output "ipv4_addresses" {
  value = proxmox_virtual_environment_vm.ollama_server.ipv4_addresses
}
