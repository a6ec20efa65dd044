variable "prefix" {
  type        = string
  description = "Name prefix, e.g. augeo-prod."
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "address_space" {
  type        = string
  description = "The VNet's /16; subnets are /24s inside it."
}

variable "tags" {
  type = map(string)
}

variable "resource_group_id" {
  type        = string
  description = "ID of the resource group (parent of the GitHub.Network/networkSettings resource)."
}

variable "github_business_id" {
  type        = string
  description = "databaseId of the GitHub organization whose hosted runners join the VNet (gh api graphql -f query='{organization(login: \"ORG\") {databaseId}}')."

  validation {
    condition     = can(regex("^[0-9]+$", var.github_business_id))
    error_message = "github_business_id is the organization's numeric databaseId."
  }
}
