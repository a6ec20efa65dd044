variable "prefix" {
  type = string
}

variable "resource_group_id" {
  type = string
}

variable "amount" {
  type        = number
  description = "Monthly budget in the billing currency (USD); derived in terraform/README.md."
}

variable "start_date" {
  type        = string
  description = "First day of a month, RFC 3339."
}

variable "contact_emails" {
  type = list(string)
}

variable "report_end_date" {
  type        = string
  description = "When the weekly cost-variance mail stops (Cost Management requires an end)."
  default     = "2031-12-31T00:00:00Z"
}
