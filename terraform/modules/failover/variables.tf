variable "prefix" {
  type = string
}

variable "environment" {
  type = string
}

variable "location" {
  type        = string
  description = "The paired region."
}

variable "static_web_app_location" {
  type = string
}

variable "address_space" {
  type        = string
  description = "The failover VNet's /16 (not overlapping the primary's)."
}

variable "tenant_id" {
  type = string
}

variable "domain" {
  type = string
}

variable "github_business_id" {
  type = string
}

variable "postgres_fqdn" {
  type        = string
  description = "FQDN of the server geo-restored into this region (augeoctl restore --geo)."

  validation {
    condition     = can(regex("\\.postgres\\.database\\.azure\\.com$", var.postgres_fqdn))
    error_message = "postgres_fqdn is the geo-restored Flexible Server's host name (NAME.postgres.database.azure.com)."
  }
}

variable "postgres_database" {
  type = string
}

variable "plan_sku" {
  type = string
}

variable "zone_balancing" {
  type = bool
}

variable "min_instances" {
  type = number
}

variable "max_instances" {
  type = number
}

variable "redis_sku" {
  type = string
}

variable "redis_high_availability" {
  type = bool
}

variable "front_door_id" {
  type = string
}

variable "key_vault_secrets" {
  type = map(string)
}

variable "app_insights_id" {
  type = string
}

variable "admin_allowed_cidrs" {
  type = map(string)
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "tags" {
  type = map(string)
}
