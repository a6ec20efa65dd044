output "principal_id" {
  description = "Object id of the identity's service principal."
  value       = azurerm_user_assigned_identity.deploy.principal_id
}

output "client_id" {
  description = "AZURE_CLIENT_ID of the environment's GitHub environment."
  value       = azurerm_user_assigned_identity.deploy.client_id
}

output "name" {
  description = "Its display name in Entra ID: its PostgreSQL role (migration_user)."
  value       = azurerm_user_assigned_identity.deploy.name
}
