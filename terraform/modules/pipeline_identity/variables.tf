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

variable "github_repositories" {
  type        = list(string)
  description = "ORG/REPO of every repository whose workflow jobs log in as this identity: this one (Terraform outputs, rollback, scheduled checks) and the application repositories that call its reusable deployment workflows (a called workflow's token carries the caller's repository)."

  validation {
    condition     = alltrue([for r in var.github_repositories : can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", r))])
    error_message = "github_repositories holds ORG/REPO names."
  }
}

variable "github_environments" {
  type        = list(string)
  description = "The GitHub environments whose jobs deploy to, roll back or check this platform environment."
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

variable "static_web_app_id" {
  type = string
}

variable "tags" {
  type = map(string)
}
