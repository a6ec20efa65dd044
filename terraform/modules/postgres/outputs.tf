output "server_name" {
  value = azurerm_postgresql_flexible_server.main.name
}

output "server_id" {
  value = azurerm_postgresql_flexible_server.main.id
}

output "fqdn" {
  value = azurerm_postgresql_flexible_server.main.fqdn
}

output "database_name" {
  value = azurerm_postgresql_flexible_server_database.app.name
}

output "migration_principal_name" {
  value = azurerm_postgresql_flexible_server_active_directory_administrator.migrations.principal_name
}

output "admin_principal_name" {
  value = azurerm_postgresql_flexible_server_active_directory_administrator.admins.principal_name
}
