output "vm_id" {
  description = "The VM's id"
  value       = proxmox_virtual_environment_vm.this.vm_id
}

output "ipv4_addresses" {
  description = "Addresses the QEMU agent reports"
  value       = proxmox_virtual_environment_vm.this.ipv4_addresses
}
