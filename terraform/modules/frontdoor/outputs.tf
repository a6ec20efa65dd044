output "profile_id" {
  value = azurerm_cdn_frontdoor_profile.main.id
}

output "profile_guid" {
  description = "The X-Azure-FDID this profile stamps on requests."
  value       = azurerm_cdn_frontdoor_profile.main.resource_guid
}

output "endpoint_hostname" {
  value = azurerm_cdn_frontdoor_endpoint.site["api"].host_name
}

output "admin_endpoint_hostname" {
  value = azurerm_cdn_frontdoor_endpoint.site["admin"].host_name
}

output "api_validation_token" {
  value = azurerm_cdn_frontdoor_custom_domain.site["api"].validation_token
}

output "admin_validation_token" {
  value = azurerm_cdn_frontdoor_custom_domain.site["admin"].validation_token
}
