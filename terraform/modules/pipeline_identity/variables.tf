variable "prefix" {
  type = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "resource_group_id" {
  type = string
}

variable "github_org" {
  type        = string
  description = "The GitHub organization (or user) that owns the repository."
}

variable "github_repo" {
  type        = string
  description = "The repository whose workflows deploy this environment."
}

variable "github_environment" {
  type        = string
  description = "The GitHub environment whose jobs may log in as this identity (production, staging, dev)."

  validation {
    condition     = contains(["production", "staging", "dev"], var.github_environment)
    error_message = "github_environment is one of production, staging, dev."
  }
}

variable "trust_pull_requests" {
  type        = bool
  description = "Also trust pull-request jobs (repo:ORG/REPO:pull_request); dev only: a pull request is not reviewed code."
}

variable "web_app_id" {
  type = string
}

variable "key_vault_id" {
  type = string
}

variable "redis_id" {
  type = string
}

variable "exports_account_id" {
  type = string
}

variable "exports_container_id" {
  type = string
}

variable "tags" {
  type = map(string)
}
