variable "prefix" {
  type = string
}

variable "environment" {
  type = string
}

variable "location" {
  type = string
}

variable "static_web_app_location" {
  type        = string
  description = "Static Web Apps run in a few regions only (e.g. westeurope)."
}

variable "resource_group_name" {
  type = string
}

variable "domain" {
  type        = string
  description = "The platform's DNS zone; the admin front end is admin.<domain>, the API api.<domain>."
}

variable "plan_sku" {
  type        = string
  description = "App Service plan SKU; production needs Standard S1 or above."
}

variable "zone_balancing" {
  type        = bool
  description = "Spread instances across zones (Premium v3 only)."
}

variable "min_instances" {
  type = number
}

variable "max_instances" {
  type = number
}

variable "app_subnet_id" {
  type = string
}

variable "front_door_id" {
  type        = string
  description = "The Front Door profile's resource_guid: the only X-Azure-FDID the backend accepts."
}

variable "key_vault_id" {
  type = string
}

variable "key_vault_uri" {
  type = string
}

variable "key_vault_secrets" {
  type        = map(string)
  description = "App setting name -> Key Vault secret name; the settings become Key Vault references."
}

variable "postgres_fqdn" {
  type = string
}

variable "postgres_database" {
  type = string
}

variable "redis_hostname" {
  type = string
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "tags" {
  type = map(string)
}

variable "app_insights_id" {
  type        = string
  description = "Application Insights the app's identities publish telemetry to (Entra-only ingestion)."
}

variable "redis_id" {
  type        = string
  description = "The Managed Redis cluster the app's identities get an access policy assignment on."
}

variable "runners_egress_ip" {
  type        = string
  description = "The runners' NAT address: deployments reach the SCM site from there."
}

variable "admin_allowed_cidrs" {
  type        = map(string)
  description = "Name => CIDR of operator networks allowed to the SCM (Kudu) site."
  default     = {}

  validation {
    condition     = alltrue([for cidr in values(var.admin_allowed_cidrs) : can(cidrhost(cidr, 0))])
    error_message = "admin_allowed_cidrs holds CIDR ranges, e.g. 203.0.113.0/24."
  }
}
