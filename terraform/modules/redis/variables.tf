variable "prefix" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "sku_name" {
  type        = string
  description = "Azure Managed Redis SKU, e.g. Balanced_B1."
}

variable "high_availability" {
  type = bool
}

variable "rdb_backup_frequency" {
  type        = string
  description = "RDB snapshot interval: 1h, 6h or 12h. The platform requires at most 4 h."

  validation {
    condition     = contains(["1h"], var.rdb_backup_frequency)
    error_message = "Only 1h meets the platform's 4-hour RDB requirement (the service offers 1h, 6h, 12h)."
  }
}

variable "subnet_id" {
  type = string
}

variable "private_dns_zone_id" {
  type = string
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "tags" {
  type = map(string)
}
