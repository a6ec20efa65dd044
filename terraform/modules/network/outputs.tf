output "vnet_id" {
  value = azurerm_virtual_network.main.id
}

output "app_subnet_id" {
  value = azurerm_subnet.app.id
}

output "postgres_subnet_id" {
  value = azurerm_subnet.postgres.id
}

output "endpoints_subnet_id" {
  value = azurerm_subnet.endpoints.id
}

output "private_dns_zone_ids" {
  value = { for k, z in azurerm_private_dns_zone.zone : k => z.id }
}

output "runners_subnet_id" {
  value = azurerm_subnet.runners.id
}

output "runners_egress_ip" {
  value = azurerm_public_ip.runners_egress.ip_address
}

output "github_network_settings_id" {
  description = "The GitHubId of the network settings: enter it as the network configuration in GitHub."
  value       = azapi_resource.github_network_settings.output.tags.GitHubId
}

output "runners_subnet_prefix" {
  value = azurerm_subnet.runners.address_prefixes[0]
}
