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

variable "github_repositories" {
  type        = list(string)
  description = "ORG/REPO of the repositories whose workflows deploy to or check this environment (this one and the application repositories calling its reusable workflows)."
}

variable "github_environments" {
  type        = list(string)
  description = "The GitHub environments of this platform environment's deployment, rollback and check jobs."
}

variable "github_trust_pull_requests" {
  type        = bool
  description = "Whether pull-request jobs may log in as this environment's deployment identity (dev only)."
}

variable "front_door_sku" {
  type        = string
  description = "Premium_AzureFrontDoor (managed WAF rule sets, production) or Standard_AzureFrontDoor."
}

variable "admin_allowed_cidrs" {
  type        = map(string)
  description = "Name => CIDR of operator networks allowed to the web app's SCM site, besides the runners."
  default     = {}
}

variable "secondary_location" {
  type        = string
  description = "The Azure region pair of location: where geo-redundant backups restore and the failover app tier runs."

  validation {
    condition = var.secondary_location == lookup({
      westeurope  = "northeurope", northeurope = "westeurope", swedencentral = "swedensouth",
      swedensouth = "swedencentral", germanywestcentral = "germanynorth", germanynorth = "germanywestcentral",
    }, var.location, "")
    error_message = "secondary_location is the documented region pair of location (westeurope: northeurope)."
  }
}

variable "region_failover" {
  type        = bool
  description = "Stand up the app tier in secondary_location against the geo-restored server failover_postgres_fqdn."
  default     = false
}

variable "failover_postgres_fqdn" {
  type        = string
  description = "Host name of the server geo-restored into secondary_location (augeoctl restore --geo); needed with region_failover."
  default     = null

  validation {
    condition     = !var.region_failover || var.failover_postgres_fqdn != null
    error_message = "region_failover needs failover_postgres_fqdn, the geo-restored server's host name."
  }
}

variable "failover_address_space" {
  type        = string
  description = "The failover VNet's /16, distinct from address_space."
  default     = null
}

variable "service_health_services" {
  type        = list(string)
  description = "Azure Service Health's names of the platform's services."
  default = [
    "App Service", "App Service (Linux)", "Azure Database for PostgreSQL flexible servers",
    "Azure Managed Redis", "Azure Front Door", "Key Vault", "Storage", "Virtual Network",
    "Azure Monitor", "Application Insights", "Azure DNS", "Azure Communication Services",
  ]
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
