output "name" {
  value = azurerm_managed_redis.main.name
}

output "id" {
  value = azurerm_managed_redis.main.id
}

output "hostname" {
  value = azurerm_managed_redis.main.hostname
}
