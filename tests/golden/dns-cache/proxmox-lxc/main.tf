# Rendered by homeport chart proxmox-lxc 1.0.0 for lab home; do not edit.
# Resource dns-cache (dns) in pool /infrastructure/on-premise/proxmox/compute/general.
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

resource "proxmox_virtual_environment_container" "dns_cache" {
  node_name     = var.node_name
  description   = "Managed by homeport (lab home, resource dns-cache). Edits are reverted."
  tags          = ["homeport", "homeport-home"]
  unprivileged  = true
  start_on_boot = true
  started       = true

  cpu {
    cores = 1
  }

  memory {
    dedicated = 512
    swap      = 512
  }

  disk {
    datastore_id = "local-lvm"
    size         = 8
  }

  network_interface {
    name   = "eth0"
    bridge = "vmbr0"
  }

  operating_system {
    template_file_id = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    type             = "debian"
  }

  features {
    nesting = true
  }

  initialization {
    hostname = "dns-cache"
    ip_config {
      ipv4 {
        address = "192.168.1.53/24"
        gateway = "192.168.1.1"
      }
    }
    user_account {
      keys = []
    }
  }
}

output "vm_id" {
  value = proxmox_virtual_environment_container.dns_cache.id
}
