variable "prefix" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "tenant_id" {
  type = string
}

variable "sku_name" {
  type        = string
  description = "General Purpose, 2 vCores / 8 GB at least (GP_Standard_D2ds_v5)."
}

variable "storage_mb" {
  type = number
}

variable "backup_retention_days" {
  type = number
}

variable "geo_redundant_backup" {
  type = bool
}

variable "high_availability" {
  type        = bool
  description = "Zone-redundant HA (a standby in a second zone)."
}

variable "subnet_id" {
  type = string
}

variable "private_dns_zone_id" {
  type = string
}

variable "admin_group_object_id" {
  type = string
}

variable "admin_group_name" {
  type = string
}

variable "migration_principal_object_id" {
  type        = string
  description = "Object id of the service principal that runs the database migrations."
}

variable "migration_principal_name" {
  type        = string
  description = "Display name of that service principal (its PostgreSQL role)."
}

variable "database_name" {
  type = string
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "tags" {
  type = map(string)
}
