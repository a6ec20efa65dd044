variable "environment" {
  type = string
}

variable "subscription_id" {
  type = string
}

variable "tenant_id" {
  type = string
}

variable "location" {
  type = string
}

variable "static_web_app_location" {
  type = string
}

variable "domain" {
  type = string
}

variable "cost_center" {
  type = string
}

variable "owner" {
  type = string
}

variable "address_space" {
  type = string
}

variable "log_retention_days" {
  type = number
}

variable "app_plan_sku" {
  type = string
}

variable "app_zone_balancing" {
  type = bool
}

variable "app_min_instances" {
  type = number
}

variable "app_max_instances" {
  type = number
}

variable "postgres_sku" {
  type = string
}

variable "postgres_storage_mb" {
  type = number
}

variable "postgres_backup_retention_days" {
  type = number
}

variable "postgres_geo_redundant_backup" {
  type = bool
}

variable "postgres_high_availability" {
  type = bool
}

variable "postgres_admin_group_object_id" {
  type = string
}

variable "postgres_admin_group_name" {
  type = string
}

variable "postgres_migration_principal_object_id" {
  type        = string
  description = "Object id of the deployment pipeline's service principal, which runs the migrations."
}

variable "postgres_migration_principal_name" {
  type        = string
  description = "Display name of that service principal: its PostgreSQL role and augeoctl's migration_user."
}

variable "github_business_id" {
  type        = string
  description = "databaseId of the GitHub organization whose hosted runners join the VNet to run migrations."
}

variable "redis_sku" {
  type = string
}

variable "redis_high_availability" {
  type = bool
}

variable "rate_limit_per_minute" {
  type = number
}

variable "acs_data_location" {
  type = string
}

variable "dmarc_rua" {
  type = string
}

variable "alert_email" {
  type = string
}

variable "teams_webhook_url" {
  type        = string
  description = "Set with TF_VAR_teams_webhook_url from the pipeline's secret store, never in a file."
  sensitive   = true
}

variable "workbook_id" {
  type = string
}

variable "monthly_budget" {
  type        = number
  description = "USD per month, derived from the cost table in terraform/README.md."
}

variable "budget_start_date" {
  type = string
}
