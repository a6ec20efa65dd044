output "account_id" {
  value = azurerm_storage_account.exports.id
}

output "container_id" {
  value = azurerm_storage_container.exports.id
}

output "container_url" {
  description = "The container an export's user-delegation SAS is made for."
  value       = "${azurerm_storage_account.exports.primary_blob_endpoint}${azurerm_storage_container.exports.name}"
}
