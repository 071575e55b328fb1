variable "name" {
  description = "VM name (a DNS label)"
  type        = string
}

variable "node_name" {
  description = "PVE node to create the VM on"
  type        = string
}

variable "template_id" {
  description = "VM id of the cloud-init template to full-clone"
  type        = number
}

variable "cores" {
  description = "vCPU cores"
  type        = number
  default     = 8
}

variable "memory_mb" {
  description = "Dedicated memory in MiB"
  type        = number
  default     = 16384
}

variable "disk_gb" {
  description = "Boot disk size in GiB"
  type        = number
  default     = 100
}

variable "datastore_id" {
  description = "Datastore of the disks, the EFI disk and the cloud-init drive"
  type        = string
  default     = "local-lvm"
}

variable "bridge" {
  description = "Network bridge"
  type        = string
  default     = "vmbr0"
}

variable "ipv4_address" {
  description = "IPv4 address in CIDR notation, or dhcp"
  type        = string
  default     = "dhcp"
}

variable "ipv4_gateway" {
  description = "IPv4 gateway (null with dhcp)"
  type        = string
  default     = null
}

variable "gpu_mappings" {
  description = "PVE PCI resource mapping names, one hostpci device each (Datacenter > Resource Mappings)"
  type        = list(string)
  default     = ["gpu"]
}

variable "ssh_keys" {
  description = "Public SSH keys for the cloud-init user"
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "PVE tags (homeport's ownership tags are added by the caller)"
  type        = list(string)
  default     = ["homeport"]
}
