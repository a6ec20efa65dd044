variable "prefix" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "domain" {
  type = string
}

variable "dns_zone_id" {
  type = string
}

variable "sku_name" {
  type        = string
  description = "Premium_AzureFrontDoor (managed WAF rule sets) or Standard_AzureFrontDoor."

  validation {
    condition     = contains(["Premium_AzureFrontDoor", "Standard_AzureFrontDoor"], var.sku_name)
    error_message = "sku_name is Premium_AzureFrontDoor or Standard_AzureFrontDoor."
  }
}

variable "origin_hostname" {
  type        = string
  description = "The web app's default host name."
}

variable "admin_origin_hostname" {
  type        = string
  description = "The admin Static Web App's default host name."
}

variable "failover_origin_hostname" {
  type        = string
  description = "In a regional failover, the paired region's web app (a second, lower-priority origin); null otherwise."
  default     = null
}

variable "rate_limit_per_minute" {
  type        = number
  description = "Requests per minute per client IP before the WAF blocks it."
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "tags" {
  type = map(string)
}
