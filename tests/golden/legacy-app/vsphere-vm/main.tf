# Rendered by homeport chart vsphere-vm 1.0.0 for lab home; do not edit.
# Resource legacy-app (web-app) in pool /infrastructure/on-premise/vmware/esxi-01.
# The provider reads VSPHERE_SERVER, VSPHERE_USER and VSPHERE_PASSWORD from the environment.
terraform {
  required_providers {
    vsphere = {
      source  = "hashicorp/vsphere"
      version = ">= 2.0.2"
    }
  }
}

data "vsphere_datacenter" "dc" {
  name = "Homelab"
}

data "vsphere_datastore" "datastore" {
  name          = "datastore1"
  datacenter_id = data.vsphere_datacenter.dc.id
}

data "vsphere_network" "network" {
  name          = "VM Network"
  datacenter_id = data.vsphere_datacenter.dc.id
}

data "vsphere_host" "host" {
  name          = "esxi-01"
  datacenter_id = data.vsphere_datacenter.dc.id
}

data "vsphere_virtual_machine" "template" {
  name          = "debian-12-template"
  datacenter_id = data.vsphere_datacenter.dc.id
}

resource "vsphere_virtual_machine" "legacy_app" {
  name             = "legacy-app"
  resource_pool_id = data.vsphere_host.host.resource_pool_id
  host_system_id   = data.vsphere_host.host.id
  datastore_id     = data.vsphere_datastore.datastore.id
  num_cpus         = 2
  memory           = 4096
  guest_id         = data.vsphere_virtual_machine.template.guest_id
  cpu_hot_add_enabled    = false
  memory_hot_add_enabled = false
  annotation       = "homeport.managed-by=homeport lab=home resource=legacy-app"

  network_interface {
    network_id = data.vsphere_network.network.id
    adapter_type = data.vsphere_virtual_machine.template.network_interface_types[0]
  }

  disk {
    label            = "disk0"
    size             = 40
    thin_provisioned = true
  }

  clone {
    template_uuid = data.vsphere_virtual_machine.template.id

    customize {
      linux_options {
        host_name = "legacy-app"
        domain    = "home.lan"
      }

      network_interface {
      }
    }
  }
}

output "vm_uuid" {
  value = vsphere_virtual_machine.legacy_app.uuid
}
