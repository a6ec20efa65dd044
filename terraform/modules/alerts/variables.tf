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
  type    = number
  default = 14
}

variable "workbook_id" {
  type        = string
  description = "The workbook's name: a GUID, fixed per environment."
}

variable "tags" {
  type = map(string)
}
