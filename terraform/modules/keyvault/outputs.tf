output "id" {
  value = azurerm_key_vault.main.id
}

output "name" {
  value = azurerm_key_vault.main.name
}

output "uri" {
  value = azurerm_key_vault.main.vault_uri
}
