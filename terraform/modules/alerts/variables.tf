variable "prefix" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "domain" {
  type = string
}

variable "alert_email" {
  type = string
}

variable "teams_webhook_url" {
  type        = string
  description = "The Teams Workflows webhook URL; a secret (anyone holding it can post)."
  sensitive   = true
}

variable "app_insights_id" {
  type = string
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "web_app_id" {
  type = string
}

variable "plan_id" {
  type = string
}

variable "cert_expiry_days" {
  type        = number
  description = "The availability tests fail when a certificate has fewer days left (the spec: alert 30 days before expiry)."
  default     = 30

  validation {
    condition     = var.cert_expiry_days >= 30
    error_message = "Certificates must be flagged at least 30 days before they expire."
  }
}

variable "subscription_id" {
  type = string
}

variable "front_door_profile_id" {
  type = string
}

variable "postgres_server_id" {
  type = string
}

variable "autoscale_setting_id" {
  type = string
}

variable "autoscale_max_instances" {
  type        = number
  description = "The autoscale profile's maximum: reaching it raises an alert."
}

variable "service_health_regions" {
  type        = list(string)
  description = "Service Health region names (as Azure Service Health spells them, e.g. West Europe), and Global."
}

variable "service_health_services" {
  type        = list(string)
  description = "Service Health service names of the platform's services."
}

variable "workbook_id" {
  type        = string
  description = "The workbook's name: a GUID, fixed per environment."
}

variable "tags" {
  type = map(string)
}
