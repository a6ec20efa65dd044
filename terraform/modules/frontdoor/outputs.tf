output "profile_guid" {
  description = "The X-Azure-FDID this profile stamps on requests."
  value       = azurerm_cdn_frontdoor_profile.main.resource_guid
}

output "endpoint_hostname" {
  value = azurerm_cdn_frontdoor_endpoint.api.host_name
}

output "api_validation_token" {
  value = azurerm_cdn_frontdoor_custom_domain.api.validation_token
}
