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

variable "origin_hostname" {
  type        = string
  description = "The web app's default host name."
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
