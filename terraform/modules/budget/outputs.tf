output "id" {
  value = azurerm_consumption_budget_resource_group.monthly.id
}
