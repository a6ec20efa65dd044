variable "prefix" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "redis_id" {
  type        = string
  description = "The Managed Redis cluster whose exports land here (its resource instance rule)."
}

variable "retention_days" {
  type        = number
  description = "Days an export is kept."

  validation {
    condition     = var.retention_days >= 30
    error_message = "Redis exports are kept at least 30 days."
  }
}

variable "subnet_id" {
  type = string
}

variable "private_dns_zone_id" {
  type = string
}

variable "tags" {
  type = map(string)
}
