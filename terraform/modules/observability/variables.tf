variable "prefix" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "retention_days" {
  type        = number
  description = "Log retention; the Key Vault AuditEvent trail lives here."
}

variable "tags" {
  type = map(string)
}
