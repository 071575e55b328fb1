# Rendered by homeport chart proxmox-compute 1.0.0 for lab home; do not edit.
# Resource jenkins (ci-server) in pool /infrastructure/on-premise/proxmox/compute/general.
terraform {
  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = ">= 0.66.0"
    }
  }
}

variable "node_name" {
  description = "PVE node: the reconciler passes its placement (-var node_name=...); the default is the pool's first node"
  type        = string
  default     = "pve1"
}

resource "proxmox_virtual_environment_vm" "jenkins" {
  name        = "jenkins"
  node_name   = var.node_name
  description = "Managed by homeport (lab home, resource jenkins). Edits are reverted."
  tags        = ["homeport", "homeport-home"]
  on_boot     = true
  started     = true
  machine     = "q35"
  bios        = "seabios"
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
    type    = "x86-64-v2-AES"
  }

  memory {
    dedicated = 8192
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
        address = "192.168.1.60/24"
        gateway = "192.168.1.1"
      }
    }
    user_account {
      username = "homeport"
      keys     = []
    }
  }
}

output "vm_id" {
  value = proxmox_virtual_environment_vm.jenkins.vm_id
}

output "ipv4_addresses" {
  value = proxmox_virtual_environment_vm.jenkins.ipv4_addresses
}
