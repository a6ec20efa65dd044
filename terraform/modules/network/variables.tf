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
