# A GPU VM on Proxmox VE: q35 + OVMF (what PCIe passthrough needs), the host CPU type, and one
# hostpci device per PVE resource mapping (mappings work with API tokens; raw PCI ids need root@pam).
resource "proxmox_virtual_environment_vm" "this" {
  name            = var.name
  node_name       = var.node_name
  tags            = sort(var.tags)
  machine         = "q35"
  bios            = "ovmf"
  scsi_hardware   = "virtio-scsi-single"
  on_boot         = true
  started         = true
  stop_on_destroy = true

  clone {
    vm_id = var.template_id
    full  = true
  }

  agent {
    enabled = true
    trim    = true
  }

  cpu {
    cores = var.cores
    type  = "host"
  }

  memory {
    dedicated = var.memory_mb
  }

  efi_disk {
    datastore_id = var.datastore_id
    type         = "4m"
  }

  disk {
    datastore_id = var.datastore_id
    interface    = "scsi0"
    size         = var.disk_gb
    discard      = "on"
    iothread     = true
    ssd          = true
  }

  network_device {
    bridge = var.bridge
    model  = "virtio"
  }

  operating_system {
    type = "l26"
  }

  initialization {
    datastore_id = var.datastore_id
    ip_config {
      ipv4 {
        address = var.ipv4_address
        gateway = var.ipv4_gateway
      }
    }
    user_account {
      username = "homeport"
      keys     = var.ssh_keys
    }
  }

  dynamic "hostpci" {
    for_each = var.gpu_mappings
    content {
      device  = "hostpci${hostpci.key}"
      mapping = hostpci.value
      pcie    = true
      rombar  = true
    }
  }
}
