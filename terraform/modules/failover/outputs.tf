output "api_default_hostname" {
  value = module.app.api_default_hostname
}

output "resource_group" {
  value = azurerm_resource_group.failover.name
}
