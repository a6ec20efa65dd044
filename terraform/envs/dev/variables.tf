variable "subscription_id" {
  type = string
}

variable "tenant_id" {
  type = string
}

variable "teams_webhook_url" {
  type        = string
  description = "Set with TF_VAR_teams_webhook_url from the pipeline's secret store, never in a file."
  sensitive   = true
}
