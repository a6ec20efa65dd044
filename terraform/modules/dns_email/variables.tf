variable "prefix" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "domain" {
  type = string
}

variable "data_location" {
  type        = string
  description = "Where ACS keeps its data at rest, e.g. Europe."
}

variable "dmarc_rua" {
  type        = string
  description = "Mailbox receiving DMARC aggregate reports."
}

variable "admin_target" {
  type        = string
  description = "Front Door's admin endpoint host name (the admin front end is served through Front Door)."
}

variable "api_target" {
  type        = string
  description = "The Front Door endpoint's host name."
}

variable "api_validation_token" {
  type = string
}

variable "tags" {
  type = map(string)
}

variable "admin_validation_token" {
  type        = string
  description = "Front Door's validation token for admin.<domain>."
}
