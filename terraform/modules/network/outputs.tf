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
